"""Bench: which verification should the local pair use? Record every signal once, then compare them.

The local cascade (Qwen2.5-Coder 0.5B drafts, 1.5B verifies) can judge a draft by: the rule checks alone, the
drafter's own token confidence (free), verify-by-scoring (the 1.5B's token probabilities of the draft, one
prefill), P(True) (the 1.5B asked whether the draft is correct, one prefill), or self-consistency (3 more 0.5B
samples at temperature 0.7). ``record`` answers each question of the labelled local set
(src/cascadeflow/bench/data/local_checkable.jsonl, ~100 questions) once per component, timing each, with cold
caches, and grades every answer by the question's rule (code runs in the sandbox); ``analyze`` computes, per
method, the AUROC of its continuous score and of its accept *decision* against draft correctness, and the
cascade's time against the 1.5B alone (draft + verification, plus the 1.5B's answer when rejected).

    python bench/local_signals.py record [--limit N] [--max-tokens 256]   # ~1 h on 2 cores
    python bench/local_signals.py record --set demo --signals bench/results/local_signals_demo.json
    python bench/local_signals.py analyze                                  # prints the table, writes JSON
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from cascadeflow.bench.checkable import CheckableQuery, is_correct, load_checkable
from cascadeflow.bench.code_runner import SandboxCodeRunner
from cascadeflow.cascade.quality.base import ValidationContext, Verdict
from cascadeflow.cascade.quality.composite import build_validator
from cascadeflow.cascade.quality.p_true import PTrueSettings, p_true
from cascadeflow.cascade.quality.self_consistency import SelfConsistencySettings, same_answer
from cascadeflow.cascade.quality.verifier_scoring import summarize
from cascadeflow.config import QualityConfig
from cascadeflow.local_defaults import local_agent
from cascadeflow.types import CompletionRequest, Message

RESULTS = Path(__file__).parent / "results"
SIGNALS = RESULTS / "local_signals.json"
TAIL_QUANTILE = 0.05  # as ScoringSettings.tail_quantile


async def _timed(work: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = await work
    return value, time.perf_counter() - started


async def _record_one(q: CheckableQuery, drafter: Any, judge: Any, pool: Any, max_tokens: int,
                      runner: SandboxCodeRunner) -> dict[str, Any]:
    request = CompletionRequest(messages=(Message(role="user", content=q.text),), max_tokens=max_tokens)
    rules = build_validator(QualityConfig.for_cascade())
    pool.forget_prompts()
    draft, draft_s = await _timed(drafter.complete(request))
    verdict = rules(request, draft, ValidationContext())
    gate = rules(request, draft, ValidationContext(threshold=0.5))
    assert isinstance(verdict, Verdict) and isinstance(gate, Verdict)
    own = summarize(draft.logprobs, TAIL_QUANTILE) if draft.logprobs else None
    pool.forget_prompts()
    scored, score_s = await _timed(judge.score(request.messages, draft.content))
    stats = summarize(scored, TAIL_QUANTILE)
    pool.forget_prompts()
    pt, pt_s = await _timed(p_true(judge, request, draft.content, PTrueSettings()))
    sc = SelfConsistencySettings()
    hot = replace(request, temperature=sc.temperature)
    samples, sample_s = [], []
    for _ in range(sc.samples):
        pool.forget_prompts()
        sample, seconds = await _timed(drafter.complete(hot))
        samples.append(sample.content)
        sample_s.append(seconds)
    pool.forget_prompts()
    alone, alone_s = await _timed(judge.complete(request))
    return {
        "text": q.text, "kind": q.kind, "group": q.group,
        "draft": draft.content, "draft_s": draft_s, "draft_tokens": draft.usage.output_tokens,
        "draft_correct": is_correct(q, draft.content, runner),
        "rules_passed": verdict.passed, "rules_score": verdict.score, "gate_passed": gate.passed,
        "rules_decided_by": verdict.decided_by,
        "own_likelihood": own.likelihood if own else None, "own_tail": own.tail if own else None,
        "score_likelihood": stats.likelihood, "score_agreement": stats.agreement, "score_tail": stats.tail,
        "score_s": score_s, "p_true": pt, "p_true_s": pt_s,
        "samples": samples, "sample_s": sample_s,
        "sample_agree": sum(same_answer(q.text, draft.content, s, sc.text_overlap) for s in samples),
        "alone": alone.content, "alone_s": alone_s, "alone_correct": is_correct(q, alone.content, runner),
    }


def _load_rows(path: Path) -> list[dict[str, Any]]:
    """Rows recorded so far (a stopped run resumes where it stopped)."""
    rows: list[dict[str, Any]] = json.loads(path.read_text())["rows"] if path.exists() else []
    return rows


def _save_rows(path: Path, rows: list[dict[str, Any]], max_tokens: int) -> None:
    path.write_text(json.dumps({"max_tokens": max_tokens, "rows": rows}, indent=1))


def _queries(which: str) -> tuple[CheckableQuery, ...]:
    if which == "demo":
        from cascadeflow.cli.demo_cmd import DEMO_QUERIES

        return tuple(replace(q, group=q.group or "demo") for q in DEMO_QUERIES)
    return load_checkable()


async def record(path: Path, limit: int | None, max_tokens: int, which: str = "local") -> None:
    queries = _queries(which)[:limit]
    agent = local_agent()
    drafter, judge = (t.provider for t in agent.engine.tiers)
    for tier in agent.engine.tiers:
        await tier.provider.load()  # type: ignore[attr-defined]
    pool = drafter.pool  # type: ignore[attr-defined]
    runner = SandboxCodeRunner()
    done = _load_rows(path)
    seen = {row["text"] for row in done}
    for i, q in enumerate(queries, 1):
        if q.text in seen:
            continue
        row = await _record_one(q, drafter, judge, pool, max_tokens, runner)
        done.append(row)
        _save_rows(path, done, max_tokens)
        print(f"[{i:3}/{len(queries)}] {q.group:6} {q.kind:6} right={row['draft_correct']!s:5} "
              f"p_true={row['p_true']:.2f} lik={row['score_likelihood']:.2f} sc={row['sample_agree']} "
              f"| {q.text[:50]}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=("record", "analyze"))
    parser.add_argument("--signals", type=Path, default=SIGNALS)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--set", dest="which", choices=("local", "demo"), default="local",
                        help="the labelled local set, or the demo's queries")
    args = parser.parse_args()
    if args.command == "record":
        args.signals.parent.mkdir(parents=True, exist_ok=True)
        asyncio.run(record(args.signals, args.limit, args.max_tokens, args.which))
    else:
        from local_signals_analysis import analyze  # bench/ is on the path when run as a script

        analyze(args.signals)


if __name__ == "__main__":
    main()
