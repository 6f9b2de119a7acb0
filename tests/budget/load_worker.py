"""One load-generating process for the multi-process budget tests (run as a script by the tests).

It waits for a start signal (a file), then runs ``calls`` concurrent reserve → (simulated call) → commit
cycles for one user against the shared ledger URL, logs every committed reservation id as soon as
``commit`` returns (so a parent that kills it knows what must be in the ledger), and prints a JSON summary.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from cascadeflow.budget import BudgetConfig, CostTracker
from cascadeflow.errors import BudgetExceededError

GO_WAIT_S = 60.0
POLL_S = 0.01


@dataclass(frozen=True)
class Job:
    url: str
    user: str
    budget: str
    calls: int
    worst_case: str
    min_ratio: float
    max_latency_s: float
    ttl_s: float
    ready_file: str
    go_file: str
    committed_log: str
    seed: int


async def one_call(tracker: CostTracker, job: Job, rng: random.Random, log_fd: int) -> tuple[bool, Decimal]:
    worst = Decimal(job.worst_case)
    try:
        held = await tracker.areserve(job.user, worst, model="load-model")
    except BudgetExceededError:
        return False, Decimal(0)
    await asyncio.sleep(rng.uniform(0, job.max_latency_s))
    actual = (worst * Decimal(str(rng.uniform(job.min_ratio, 1.0)))).quantize(Decimal("0.000000001"))
    actual = min(actual, worst)
    await tracker.acommit(held, actual, input_tokens=100, output_tokens=50)
    os.write(log_fd, f"{held.reservation_id}\n".encode())
    return True, actual


def wait_for_start(job: Job) -> None:
    """Say we are ready (imports done, store opened), then wait until the parent releases every worker."""
    Path(job.ready_file).write_text("ready", encoding="utf-8")
    deadline = time.monotonic() + GO_WAIT_S
    while not Path(job.go_file).exists():
        if time.monotonic() > deadline:
            raise SystemExit("no start signal")
        time.sleep(POLL_S)


async def run(job: Job, tracker: CostTracker) -> dict[str, object]:
    rng = random.Random(job.seed)
    log_fd = os.open(job.committed_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        results = await asyncio.gather(*(one_call(tracker, job, rng, log_fd) for _ in range(job.calls)))
    finally:
        os.close(log_fd)
    allowed = sum(1 for ok, _ in results if ok)
    return {
        "allowed": allowed,
        "refused": len(results) - allowed,
        "committed": str(sum((cost for _, cost in results), Decimal(0))),
    }


def main() -> None:
    job = Job(**json.loads(sys.argv[1]))
    tracker = CostTracker(
        user_budgets={job.user: BudgetConfig(total=job.budget)},
        enforcement_mode="enforce",
        store=job.url,
        reservation_ttl=job.ttl_s,
    )
    wait_for_start(job)
    print(json.dumps(asyncio.run(run(job, tracker))), flush=True)


if __name__ == "__main__":
    main()
