"""Bench: what the bubblewrap sandbox adds to running one code answer, and to one behaviour comparison.

Per answer, the same runner program (code_exec_child.py, the same answer, the same limits) is started N times
(a) the way it ran before the sandbox, as a plain ``python -I`` child with rlimits, and (b) in the sandbox;
then (c) one whole behaviour comparison of two answers that both bring examples (four sandboxed runs: each
answer harvests, then runs on the other's inputs; two at a time on this machine's CPUs). Wall times in ms.

    python bench/sandbox_overhead.py [--runs 30] [--json bench/results/sandbox_overhead.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cascadeflow.cascade.quality.code_behaviour import CHILD, BehaviourRunner, ExecutionLimits, _request
from cascadeflow.cascade.quality.sandbox import Sandbox

ADD = "def add(a, b):\n    return a + b\n\nprint(add(2, 3))\nadd(-1, 1)\n"
PLUS = "def plus(x, y):\n    return y + x\n\nplus(10, 1)\n"
# The pre-sandbox child: the runner with the limits set by itself, in a plain isolated interpreter.
_UNSANDBOXED_BOOT = (
    "import resource, sys\n"
    "for kind, value in ((resource.RLIMIT_CPU, 20), (resource.RLIMIT_AS, 1 << 30), (resource.RLIMIT_FSIZE, 1 << 20),"
    " (resource.RLIMIT_NOFILE, 64)):\n"
    "    resource.setrlimit(kind, (value, value))\n"
    "exec(compile(open(sys.argv[2]).read(), 'runner', 'exec'), {'__name__': '__main__'})\n"
)


def _timed(runs: int, *ways: Callable[[], object]) -> list[list[float]]:
    """Wall ms of each way, ``runs`` times, interleaved (a load change on a shared machine hits all alike)."""
    times: list[list[float]] = [[] for _ in ways]
    for _ in range(runs):
        for way, spent in zip(ways, times, strict=True):
            start = time.perf_counter()
            way()
            spent.append((time.perf_counter() - start) * 1000)
    return times


def _unsandboxed(request: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="cascadeflow-bench-") as scratch:
        subprocess.run([sys.executable, "-I", "-c", _UNSANDBOXED_BOOT, str(request), str(CHILD)], cwd=scratch,
                       env={}, stdin=subprocess.DEVNULL, capture_output=True, check=True, timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", type=Path, default=Path("bench/results/sandbox_overhead.json"))
    args = parser.parse_args()
    sandbox = Sandbox.detect()
    runner = BehaviourRunner(sandbox, ExecutionLimits())
    limits = runner.limits.sandbox_limits()
    with tempfile.TemporaryDirectory() as folder:
        request = Path(folder) / "request.json"
        request.write_bytes(_request(ADD, None, runner.limits))
        _unsandboxed(request)  # warm the file cache
        plain, boxed, pair = _timed(
            args.runs, lambda: _unsandboxed(request),
            lambda: asyncio.run(sandbox.run(runner.program, request.read_bytes(), limits)),
            lambda: runner.run({"a": ADD, "b": PLUS}))
    rows = {"plain python -I child (before)": plain, "same child in the bwrap sandbox": boxed,
            "behaviour comparison of 2 answers (4 sandboxed runs)": pair}
    print(f"{'per answer run (' + str(args.runs) + ' runs, ' + str(os.cpu_count()) + ' CPUs)':<56} "
          f"{'median ms':>10} {'p90':>8} {'min':>8}")
    summary = {}
    for name, times in rows.items():
        p90 = statistics.quantiles(times, n=10)[-1]
        summary[name] = {"median_ms": round(statistics.median(times), 1), "p90_ms": round(p90, 1),
                         "min_ms": round(min(times), 1)}
        print(f"{name:<56} {summary[name]['median_ms']:>10} {summary[name]['p90_ms']:>8} {summary[name]['min_ms']:>8}")
    overhead = statistics.median(boxed) - statistics.median(plain)
    print(f"{'sandbox overhead per run (median difference)':<56} {overhead:>10.1f}")
    summary["overhead_per_run_ms"] = {"median_ms": round(overhead, 1)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"runs": args.runs, "privileged": sandbox.privileged, **summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
