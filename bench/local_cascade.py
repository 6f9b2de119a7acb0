"""Bench: the local cascade (Qwen2.5-Coder 0.5B drafts, 1.5B verifies by scoring) against the 1.5B alone.

Twenty fixed queries, ten simple and ten hard, each answered (a) by the cascade and (b) by the 1.5B alone, on
the same loaded models. Per group we report total answer time (cascade / 1.5B-alone ratio; the goal for the
simple group is <= 0.6x), the share of drafts kept, how often the cascade's final answer agrees with the 1.5B's,
and how often each is right.

Agreement rule (per query kind):
  number — the last number in each answer is the same (commas between digits ignored);
  code   — both answers define the asked-for function and it returns the same values (or raises the same
           exception type) on the query's probe inputs, run in a subprocess with a timeout;
  fact   — same text after lower-casing and collapsing whitespace, or word-overlap F1 >= 0.5.
  If code cannot be run for either answer, it falls back to the text rule. Correctness uses the same
  extraction against the expected value (fact: the expected phrase appears in the answer).

    python bench/local_cascade.py [--max-tokens 200] [--json bench/results/local_cascade.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from cascadeflow.cascade.quality.verifier_scoring import ScoringSettings
from cascadeflow.local_defaults import local_agent

Kind = Literal["fact", "number", "code"]
TEXT_F1_AGREE = 0.5  # half the content words shared: same answer in different words
CODE_TIMEOUT_S = 10.0  # generated code is run once per answer; a loop that runs longer counts as failing
RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Query:
    group: Literal["simple", "hard"]
    kind: Kind
    text: str
    expect: Any = None
    entry: str = ""
    probes: tuple[tuple[Any, ...], ...] = ()


def _q(group: Literal["simple", "hard"], kind: Kind, text: str, expect: Any, entry: str = "",
       probes: tuple[tuple[Any, ...], ...] = ()) -> Query:
    return Query(group, kind, text, expect, entry, probes)


QUERIES: tuple[Query, ...] = (
    _q("simple", "fact", "What is the capital of Japan?", "tokyo"),
    _q("simple", "fact", "Which planet is known as the Red Planet?", "mars"),
    _q("simple", "fact", "What does CPU stand for?", "central processing unit"),
    _q("simple", "fact", "What is the chemical symbol for gold?", "au"),
    _q("simple", "number", "What is 12 + 30?", 42),
    _q("simple", "number", "How many minutes are in 3 hours?", 180),
    _q("simple", "code", "Write a Python function add(a, b) that returns the sum of a and b.", [3, 0, 3.0],
       "add", ((1, 2), (-5, 5), (2.5, 0.5))),
    _q("simple", "code", "Write a Python function is_even(n) that returns True if n is even, otherwise False.",
       [True, False, True, False], "is_even", ((0,), (7,), (10,), (-3,))),
    _q("simple", "code", "Write a Python function reverse_string(s) that returns the string s reversed.",
       ["cba", "", "racecar"], "reverse_string", (("abc",), ("",), ("racecar",))),
    _q("simple", "code", "Write a Python function max_of_list(xs) that returns the largest number in a "
       "non-empty list.", [5, -2, 7], "max_of_list", (([1, 5, 3],), ([-2, -9],), ([7],))),
    _q("hard", "number", "A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. "
       "How many cents does the ball cost?", 5),
    _q("hard", "number", "Sally has 3 brothers. Each of her brothers has 2 sisters. How many sisters does "
       "Sally have?", 1),
    _q("hard", "number", "If 5 machines take 5 minutes to make 5 widgets, how many minutes would 100 machines "
       "take to make 100 widgets?", 5),
    _q("hard", "number", "What is 37 * 43?", 1591),
    _q("hard", "number", "What is the sum of all even numbers from 1 to 50?", 650),
    _q("hard", "number", "In how many distinct ways can you climb a staircase of 10 steps if each move is "
       "1 or 2 steps?", 89),
    _q("hard", "code", "Write a Python function nth_prime(n) that returns the n-th prime number, so that "
       "nth_prime(1) == 2.", [2, 11, 29, 97], "nth_prime", ((1,), (5,), (10,), (25,))),
    _q("hard", "code", "Write a Python function flatten(xs) that flattens an arbitrarily nested list of lists "
       "into a flat list.", [[1, 2, 3, 4, 5], [], []], "flatten", (([1, [2, [3, 4]], 5],), ([],), ([[[]]],))),
    _q("hard", "code", "Write a Python function roman_to_int(s) that converts a Roman numeral string to an "
       "integer.", [3, 4, 1994], "roman_to_int", (("III",), ("IV",), ("MCMXCIV",))),
    _q("hard", "code", "Write a Python function longest_common_prefix(words) that returns the longest common "
       "prefix of a list of strings.", ["fl", "", "a"], "longest_common_prefix",
       ((["flower", "flow", "flight"],), (["dog", "racecar", "car"],), (["a"],))),
)

# ----------------------------------------------------------------- comparing answers
_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
_FENCE_RE = re.compile(r"```[\w+-]*\n(.*?)(?:```|\Z)", re.S)
_WORD_RE = re.compile(r"\w+")
_RUNNER = """
import json, sys
ns = {}
exec(compile(sys.stdin.read(), "answer", "exec"), ns)
out = []
for args in json.loads(sys.argv[1]):
    try:
        out.append(["ok", ns[sys.argv[2]](*args)])
    except Exception as exc:
        out.append(["raise", type(exc).__name__])
print("\\n@@RESULT@@" + json.dumps(out, default=repr))
"""


def last_number(text: str) -> float | None:
    found = _NUMBER_RE.findall(re.sub(r"(?<=\d),(?=\d{3})", "", text))
    return float(found[-1]) if found else None


def _words(text: str) -> Counter[str]:
    return Counter(_WORD_RE.findall(text.lower()))


def text_f1(a: str, b: str) -> float:
    wa, wb = _words(a), _words(b)
    common = sum((wa & wb).values())
    if not common:
        return 0.0
    precision, recall = common / sum(wa.values()), common / sum(wb.values())
    return 2 * precision * recall / (precision + recall)


def run_code(answer: str, query: Query) -> list[Any] | None:
    """Outputs of the answer's function on the probes, or None when it cannot be extracted or run."""
    blocks = _FENCE_RE.findall(answer)
    code = next((b for b in blocks if f"def {query.entry}" in b), None)
    if code is None:
        return None
    try:
        done = subprocess.run(
            [sys.executable, "-c", _RUNNER, json.dumps([list(p) for p in query.probes]), query.entry],
            input=code, capture_output=True, text=True, timeout=CODE_TIMEOUT_S, stdin=None, check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    marker = done.stdout.rfind("@@RESULT@@")
    if done.returncode != 0 or marker < 0:
        return None
    result: list[Any] = json.loads(done.stdout[marker + len("@@RESULT@@"):])
    return result


def agree(query: Query, a: str, b: str) -> bool:
    if query.kind == "number":
        na, nb = last_number(a), last_number(b)
        return na is not None and na == nb
    if query.kind == "code":
        ra, rb = run_code(a, query), run_code(b, query)
        if ra is not None and rb is not None:
            return ra == rb
    return " ".join(a.lower().split()) == " ".join(b.lower().split()) or text_f1(a, b) >= TEXT_F1_AGREE


def correct(query: Query, answer: str) -> bool:
    if query.kind == "number":
        return last_number(answer) == float(query.expect)
    if query.kind == "code":
        outputs = run_code(answer, query)
        return outputs is not None and [o[1] if o[0] == "ok" else None for o in outputs] == query.expect
    return str(query.expect) in answer.lower()


# ----------------------------------------------------------------- running
@dataclass
class Row:
    group: str
    kind: str
    query: str
    cascade_model: str
    draft_kept: bool
    started_at_drafter: bool
    decided_by: str
    signals: dict[str, float]
    complexity: str
    cascade_s: float
    alone_s: float
    cascade_tokens: int
    alone_tokens: int
    agree: bool
    cascade_correct: bool
    alone_correct: bool
    cascade_answer: str = field(repr=False)
    alone_answer: str = field(repr=False)


async def _timed(agent: Any, text: str, max_tokens: int) -> tuple[Any, float]:
    started = time.perf_counter()
    result = await agent.run(text, max_tokens=max_tokens)
    return result, time.perf_counter() - started


async def run_bench(max_tokens: int, shortcut: bool) -> list[Row]:
    scoring = ScoringSettings() if shortcut else ScoringSettings(self_check_levels=())
    cascade = local_agent(scoring=scoring)
    alone = local_agent(enable_cascade=False)  # same models (shared pool), top tier only
    for tier in cascade.engine.tiers:
        await tier.provider.load()  # type: ignore[attr-defined]
    pool = cascade.engine.tiers[0].provider.pool  # type: ignore[attr-defined]
    rows = []
    for i, q in enumerate(QUERIES, start=1):
        # Interleaved, so load from other processes hits both arms alike; every call starts with cold caches,
        # else "alone" would find the prompt already in the 1.5B's KV cache from scoring that very query.
        pool.forget_prompts()
        c, c_s = await _timed(cascade, q.text, max_tokens)
        pool.forget_prompts()
        a, a_s = await _timed(alone, q.text, max_tokens)
        verdict = c.steps[0].verdict
        rows.append(Row(
            q.group, q.kind, q.text, c.model_used, c.draft_accepted, c.steps[0].tier == 0,
            verdict.decided_by if verdict else "", dict(verdict.scores) if verdict else {}, c.complexity, c_s, a_s,
            c.output_tokens, a.output_tokens, agree(q, c.content, a.content), correct(q, c.content),
            correct(q, a.content), c.content, a.content,
        ))
        print(f"[{i:2}/{len(QUERIES)}] {q.group:6} {c.complexity:8} {c.model_used:20} kept={c.draft_accepted!s:5} "
              f"{c_s:5.1f}s vs {a_s:5.1f}s agree={rows[-1].agree} | {q.text[:50]}", flush=True)
    return rows


def summarize(rows: list[Row]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for group in ("simple", "hard", "all"):
        sel = [r for r in rows if group in ("all", r.group)]
        drafted = [r for r in sel if r.started_at_drafter]
        cascade_s, alone_s = sum(r.cascade_s for r in sel), sum(r.alone_s for r in sel)
        out[group] = {
            "queries": len(sel),
            "cascade_s": round(cascade_s, 2),
            "alone_s": round(alone_s, 2),
            "time_ratio": round(cascade_s / alone_s, 3) if alone_s else float("nan"),
            "drafts_kept": round(sum(r.draft_kept for r in drafted) / len(drafted), 3) if drafted else 0.0,
            "agreement": round(sum(r.agree for r in sel) / len(sel), 3),
            "cascade_correct": round(sum(r.cascade_correct for r in sel) / len(sel), 3),
            "alone_correct": round(sum(r.alone_correct for r in sel) / len(sel), 3),
        }
    return out


def print_table(summary: dict[str, dict[str, float]]) -> None:
    head = f"{'group':7} {'n':>3} {'cascade s':>10} {'1.5B s':>8} {'ratio':>6} {'kept':>6} {'agree':>6} " \
           f"{'right(c)':>8} {'right(1.5B)':>11}"
    print(head)
    print("-" * len(head))
    for group, s in summary.items():
        print(f"{group:7} {s['queries']:>3.0f} {s['cascade_s']:>10.1f} {s['alone_s']:>8.1f} {s['time_ratio']:>5.2f}x "
              f"{s['drafts_kept']:>6.0%} {s['agreement']:>6.0%} {s['cascade_correct']:>8.0%} "
              f"{s['alone_correct']:>11.0%}")


def plot(summary: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = ["simple", "hard"]
    xs = range(len(groups))
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.bar([x - 0.2 for x in xs], [summary[g]["cascade_s"] for g in groups], 0.4, label="cascade 0.5B→1.5B")
    ax.bar([x + 0.2 for x in xs], [summary[g]["alone_s"] for g in groups], 0.4, label="1.5B alone")
    for x, g in zip(xs, groups, strict=True):
        s = summary[g]
        ax.annotate(f"{s['time_ratio']:.2f}x · kept {s['drafts_kept']:.0%} · agree {s['agreement']:.0%}",
                    (x, max(s["cascade_s"], s["alone_s"])), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(list(xs), [f"{g} ({summary[g]['queries']:.0f} queries)" for g in groups])
    ax.set_ylabel("total answer time (s)")
    ax.set_title("Local cascade vs 1.5B alone (2 CPU cores)")
    ax.legend(loc="upper left")
    ax.margins(y=0.2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--max-tokens", type=int, default=320)  # room for most answers to finish
    parser.add_argument("--json", type=Path, default=RESULTS / "local_cascade.json")
    parser.add_argument("--png", type=Path, default=RESULTS / "local_cascade.png")
    parser.add_argument("--no-shortcut", action="store_true", help="always ask the verifier (for calibration)")
    args = parser.parse_args()
    rows = asyncio.run(run_bench(args.max_tokens, shortcut=not args.no_shortcut))
    summary = summarize(rows)
    print_table(summary)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"max_tokens": args.max_tokens, "summary": summary,
                                     "rows": [asdict(r) for r in rows]}, indent=1))
    plot(summary, args.png)
    print(f"wrote {args.json} and {args.png}")


if __name__ == "__main__":
    main()
