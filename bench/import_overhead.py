"""Bench: how long `from cascadeflow import CascadeAgent, ModelConfig` takes in a fresh interpreter.

Runs the import in N fresh processes and reports the median/min/max of the import statement's wall time
(measured inside the child, so interpreter start-up is excluded). Goal: <= 100 ms.

    python bench/import_overhead.py [--runs 15] [--json bench/results/import_overhead.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

_CHILD = (
    "import time; t = time.perf_counter(); "
    "from cascadeflow import CascadeAgent, ModelConfig; "
    "print((time.perf_counter() - t) * 1000)"
)


def measure(runs: int) -> list[float]:
    out: list[float] = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", _CHILD], check=True, capture_output=True, text=True)
        out.append(float(done.stdout.strip()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", type=Path, default=Path("bench/results/import_overhead.json"))
    args = parser.parse_args()
    measure(2)  # warm the OS file cache
    times = measure(args.runs)
    row = {
        "runs": args.runs,
        "median_ms": round(statistics.median(times), 2),
        "min_ms": round(min(times), 2),
        "max_ms": round(max(times), 2),
        "goal_ms": 100,
    }
    print(f"{'statement':<52} {'median ms':>10} {'min':>8} {'max':>8}")
    print(f"{'from cascadeflow import CascadeAgent, ModelConfig':<52} "
          f"{row['median_ms']:>10} {row['min_ms']:>8} {row['max_ms']:>8}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
