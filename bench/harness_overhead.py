"""Bench: what a governed run adds to an accepted cascade call (goal <= 0.03 ms; no worse than 0.1 ms).

One in-process 2-tier agent whose cheap tier answers at once with a solid draft (so every call is accepted and
the provider costs nothing to time), called alternately: bare, inside ``cascadeflow.run()`` in observe mode,
and inside ``cascadeflow.run(budget=..., max_tool_calls=...)`` in enforce mode. The added time is the median of
the per-round differences (governed − bare), so load on the machine hits both arms alike.

    python bench/harness_overhead.py [--calls 5000] [--json bench/results/harness_overhead.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

import cascadeflow
from cascadeflow import CascadeAgent, FunctionProvider, ModelConfig
from cascadeflow.types import Completion, Usage

QUERY = "What color is the sky on a clear day?"
ANSWER = "The sky is blue on a clear day, because air molecules scatter blue sunlight the most."


def build_agent() -> CascadeAgent:
    def answer(request: object) -> Completion:
        return Completion(content=ANSWER, model="small", usage=Usage(14, 18))

    return CascadeAgent(models=[ModelConfig("small", provider="fake", cost=0.000375),
                                ModelConfig("large", provider="fake", cost=0.00625)],
                        providers={"small": FunctionProvider(answer), "large": FunctionProvider(answer)})


async def measure(calls: int) -> dict[str, float]:
    agent = build_agent()
    observe = cascadeflow.Harness("observe")
    enforce = cascadeflow.Harness("enforce")
    bare_ms, observe_ms, enforce_ms = [], [], []
    for i in range(calls + calls // 10):
        t0 = time.perf_counter()
        await agent.run(QUERY, max_tokens=64)
        t1 = time.perf_counter()
        with observe.run():
            await agent.run(QUERY, max_tokens=64)
        t2 = time.perf_counter()
        with enforce.run(budget=1.0, max_tool_calls=10):
            await agent.run(QUERY, max_tokens=64)
        t3 = time.perf_counter()
        if i >= calls // 10:  # warm-up excluded
            bare_ms.append((t1 - t0) * 1e3)
            observe_ms.append((t2 - t1) * 1e3)
            enforce_ms.append((t3 - t2) * 1e3)
    return {
        "calls": calls,
        "bare_median_ms": round(statistics.median(bare_ms), 4),
        "observe_added_ms": round(statistics.median(o - b for o, b in zip(observe_ms, bare_ms, strict=True)), 4),
        "enforce_added_ms": round(statistics.median(e - b for e, b in zip(enforce_ms, bare_ms, strict=True)), 4),
        "goal_ms": 0.03,
        "ceiling_ms": 0.1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--json", type=Path, default=Path("bench/results/harness_overhead.json"))
    args = parser.parse_args()
    row = asyncio.run(measure(args.calls))
    print(f"{'arm':<44} {'median ms':>10}")
    print(f"{'bare agent.run (draft accepted)':<44} {row['bare_median_ms']:>10}")
    print(f"{'added by run() in observe mode':<44} {row['observe_added_ms']:>10}")
    print(f"{'added by run(budget, max_tool_calls) enforce':<44} {row['enforce_added_ms']:>10}")
    print(f"goal <= {row['goal_ms']} ms, ceiling {row['ceiling_ms']} ms")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
