"""Bench: the local cascade (Qwen2.5-Coder 0.5B drafts, the 1.5B verifies) against the 1.5B alone.

The labelled local set (src/cascadeflow/bench/data/local_checkable.jsonl: ~100 questions with checkable answers —
short facts, arithmetic, GSM8K word problems, small code tasks; ``simple`` and ``hard`` groups) and, with
``--demo``, the demo's eight queries. Each question is answered by the cascade and by the 1.5B alone on the same
loaded models, interleaved and with cold prompt caches (so load from other processes hits both arms alike).
Answers are graded by each question's rule (:mod:`cascadeflow.bench.checkable`; code runs in the sandbox).

Reported per group: total answer time (cascade / 1.5B alone; goal <= 0.6x on simple), the share of drafts kept,
kept drafts that were wrong, the AUROC of the keep/escalate decision against draft correctness (goal >= 0.80),
and how often each arm is right.

    python bench/local_cascade.py [--verification p_true] [--limit N] [--demo]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from cascadeflow.bench.checkable import CheckableQuery, is_correct, load_checkable
from cascadeflow.bench.code_runner import SandboxCodeRunner
from cascadeflow.bench.metrics import auroc
from cascadeflow.local_defaults import VERIFICATIONS, local_agent

RESULTS = Path(__file__).parent / "results"


@dataclass
class Row:
    group: str
    kind: str
    query: str
    cascade_model: str
    draft_kept: bool
    started_at_drafter: bool
    decided_by: str
    draft_correct: bool | None
    cascade_s: float
    alone_s: float
    cascade_correct: bool | None
    alone_correct: bool | None
    cascade_answer: str = field(repr=False)
    alone_answer: str = field(repr=False)


async def _timed(agent: Any, text: str, max_tokens: int) -> tuple[Any, float]:
    started = time.perf_counter()
    result = await agent.run(text, max_tokens=max_tokens)
    return result, time.perf_counter() - started


class DraftSpy:
    """Wraps the drafter's validator to keep each draft's text (a rejected draft is graded too)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.last = ""

    def __call__(self, request: Any, draft: Any, context: Any) -> Any:
        self.last = draft.content
        return self.inner(request, draft, context)


async def run_bench(queries: tuple[CheckableQuery, ...], max_tokens: int, verification: str) -> list[Row]:
    cascade = local_agent(verification=verification)
    drafter = cascade.engine.tiers[0]
    spy = DraftSpy(drafter.validator or cascade.engine.validator)
    cascade.engine.tiers = (replace(drafter, validator=spy), *cascade.engine.tiers[1:])
    shared = {t.name: t.provider for t in cascade.engine.tiers}  # the same loaded models, not a second copy
    alone = local_agent(enable_cascade=False, providers=shared)
    for tier in cascade.engine.tiers:
        await tier.provider.load()  # type: ignore[attr-defined]
    pool = cascade.resources.model_pool
    runner = SandboxCodeRunner()
    rows = []
    for i, q in enumerate(queries, start=1):
        pool.forget_prompts()  # cold caches: "alone" must not find the prompt cached by the verifier
        spy.last = ""
        c, c_s = await _timed(cascade, q.text, max_tokens)
        pool.forget_prompts()
        a, a_s = await _timed(alone, q.text, max_tokens)
        first = c.answers[0]
        verdict = first.verdict
        draft_correct = is_correct(q, spy.last, runner) if first.tier == 0 else None
        rows.append(Row(q.group, q.kind, q.text, c.model_used, c.draft_accepted, first.tier == 0,
                        verdict.decided_by if verdict else "", draft_correct, c_s, a_s,
                        is_correct(q, c.content, runner), is_correct(q, a.content, runner), c.content, a.content))
        print(f"[{i:3}/{len(queries)}] {q.group:6} {c.model_used:20} kept={c.draft_accepted!s:5} "
              f"draft_right={draft_correct!s:5} {c_s:5.1f}s vs {a_s:5.1f}s | {q.text[:48]}", flush=True)
    await cascade.aclose()
    return rows


def summarize(rows: list[Row]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for group in [*sorted({r.group for r in rows}), "all"]:
        sel = [r for r in rows if group in ("all", r.group)]
        drafted = [r for r in sel if r.started_at_drafter]
        judged = [r for r in drafted if r.draft_correct is not None]
        cascade_s, alone_s = sum(r.cascade_s for r in sel), sum(r.alone_s for r in sel)
        decision = auroc([float(r.draft_kept) for r in judged], [bool(r.draft_correct) for r in judged])
        out[group] = {
            "queries": len(sel), "cascade_s": round(cascade_s, 2), "alone_s": round(alone_s, 2),
            "time_ratio": round(cascade_s / alone_s, 3) if alone_s else None,
            "drafts_kept": round(sum(r.draft_kept for r in drafted) / len(drafted), 3) if drafted else 0.0,
            "kept_wrong": sum(1 for r in drafted if r.draft_kept and r.cascade_correct is False),
            "decision_auroc": None if decision is None else round(decision, 3),
            "cascade_correct": round(sum(bool(r.cascade_correct) for r in sel) / len(sel), 3),
            "alone_correct": round(sum(bool(r.alone_correct) for r in sel) / len(sel), 3),
        }
    return out


def print_table(summary: dict[str, dict[str, Any]]) -> None:
    head = (f"{'group':7} {'n':>3} {'cascade s':>10} {'1.5B s':>8} {'ratio':>6} {'kept':>5} {'wrong':>5} "
            f"{'AUROC':>6} {'right(c)':>8} {'right(1.5B)':>11}")
    print(head)
    print("-" * len(head))
    for group, s in summary.items():
        auc = "—" if s["decision_auroc"] is None else f"{s['decision_auroc']:.2f}"
        print(f"{group:7} {s['queries']:>3} {s['cascade_s']:>10.1f} {s['alone_s']:>8.1f} {s['time_ratio']:>5.2f}x "
              f"{s['drafts_kept']:>5.0%} {s['kept_wrong']:>5} {auc:>6} {s['cascade_correct']:>8.0%} "
              f"{s['alone_correct']:>11.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--verification", choices=sorted(VERIFICATIONS), default=None,
                        help="how the 1.5B judges drafts (default: local_agent's)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--demo", action="store_true", help="the demo's eight queries instead of the local set")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.demo:
        from cascadeflow.cli.demo_cmd import DEMO_QUERIES

        queries = tuple(q if q.group else CheckableQuery(q.text, q.kind, q.expect, q.entry, q.probes, "demo",
                                                         q.shown) for q in DEMO_QUERIES)
    else:
        queries = load_checkable()
    queries = queries[: args.limit]
    rows = asyncio.run(run_bench(queries, args.max_tokens, args.verification or "default"))
    summary = summarize(rows)
    print_table(summary)
    path = args.json or RESULTS / ("local_cascade_demo.json" if args.demo else "local_cascade.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"max_tokens": args.max_tokens, "verification": args.verification,
                                "summary": summary, "rows": [asdict(r) for r in rows]}, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
