"""Acceptance: several processes share one ledger (SQLite file, Redis, PostgreSQL) and never overspend it.

Real servers from scripts/services.sh, real processes, real concurrency: 4 processes x 100 concurrent calls
for one user with a budget that fits about half of them; a worker killed with SIGKILL mid-load; two trackers
with and without a shared store.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from cascadeflow.budget import BudgetConfig, CostTracker, open_store
from cascadeflow.budget.records import BucketCheck, BucketRef, user_account
from cascadeflow.budget.stores import MemoryLedgerStore
from cascadeflow.errors import BudgetExceededError

WORKER = Path(__file__).with_name("load_worker.py")
START_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 120.0
POLL_S = 0.05


def launch(tmp_path: Path, url: str, count: int, **job: object) -> tuple[list[subprocess.Popen[str]], Path]:
    """Start ``count`` workers, wait until each is ready, then release them together."""
    go = tmp_path / "go"
    log = tmp_path / "committed.log"
    procs: list[subprocess.Popen[str]] = []
    ready = [tmp_path / f"ready-{i}" for i in range(count)]
    for i in range(count):
        spec = {"url": url, "ready_file": str(ready[i]), "go_file": str(go), "committed_log": str(log), "seed": i}
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), json.dumps({**spec, **job})],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while not all(r.exists() for r in ready):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            for p in procs:
                p.kill()
            errors = [p.communicate()[1][-2000:] for p in procs]
            pytest.fail(f"workers did not start: {errors}")
        time.sleep(POLL_S)
    go.write_text("go", encoding="utf-8")
    return procs, log


def finish(procs: list[subprocess.Popen[str]]) -> list[dict[str, str | int]]:
    out: list[dict[str, str | int]] = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=RUN_TIMEOUT_S)
        assert p.returncode == 0, stderr[-3000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def held_and_committed(url: str, user: str) -> tuple[int, int]:
    store = open_store(url)
    try:
        (state,) = store.usage([BucketCheck(BucketRef(user_account(user), "total"), None)])
        return state.held_units, state.committed_units
    finally:
        store.close()


def test_zero_bypass_four_processes_one_user(shared_ledger_url: str, tmp_path: Path) -> None:
    budget, worst = Decimal("2.005"), Decimal("0.01")  # 400 calls of <= 0.01: about half fit
    procs, _ = launch(
        tmp_path, shared_ledger_url, 4, user="bypass-user", budget=str(budget), calls=100, worst_case=str(worst),
        min_ratio=0.5, max_latency_s=0.01, ttl_s=60.0,
    )
    results = finish(procs)
    store = open_store(shared_ledger_url)
    try:
        records = store.records("bypass-user")
    finally:
        store.close()
    total = sum((r.cost for r in records), Decimal(0))
    allowed = sum(int(r["allowed"]) for r in results)
    refused = sum(int(r["refused"]) for r in results)
    assert allowed + refused == 400
    assert total <= budget, f"overshoot: {total} > {budget}"
    assert len(records) == allowed
    assert sum(Decimal(str(r["committed"])) for r in results) == total
    assert refused > 0
    # Nobody was refused while the budget could still pay a whole worst-case call.
    assert budget - total < worst
    held, committed = held_and_committed(shared_ledger_url, "bypass-user")
    assert held == 0
    assert Decimal(committed) / 10**9 == total


def test_kill_9_loses_no_committed_row_and_holds_expire(shared_ledger_url: str, tmp_path: Path) -> None:
    ttl = 1.5
    procs, log = launch(
        tmp_path, shared_ledger_url, 1, user="kill-user", budget="100", calls=100, worst_case="0.01",
        min_ratio=0.5, max_latency_s=2.0, ttl_s=ttl,
    )
    (proc,) = procs
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not log.exists() or len(log.read_text().split()) < 10:
        assert proc.poll() is None and time.monotonic() < deadline, "worker ended before the kill"
        time.sleep(POLL_S)
    held_before, _ = held_and_committed(shared_ledger_url, "kill-user")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=RUN_TIMEOUT_S)
    assert held_before > 0, "there were open reservations at the kill"

    logged = set(log.read_text().split())
    store = open_store(shared_ledger_url)
    try:
        records = store.records("kill-user")
    finally:
        store.close()
    assert logged <= {r.reservation_id for r in records}
    _, committed = held_and_committed(shared_ledger_url, "kill-user")
    assert committed == sum(r.cost_units for r in records)

    deadline = time.monotonic() + 30 * ttl
    while held_and_committed(shared_ledger_url, "kill-user")[0] > 0:
        assert time.monotonic() < deadline, "holds of the killed worker never expired"
        time.sleep(POLL_S)
    spent = Decimal(committed) / 10**9
    tracker = CostTracker(
        user_budgets={"kill-user": BudgetConfig(total=spent + 1)}, enforcement_mode="enforce",
        store=shared_ledger_url, hold_wait=0,
    )
    assert tracker.reserve("kill-user", 1).amount == 1  # all that is left is free again


def _spend_concurrently(trackers: list[CostTracker], calls: int, cost: Decimal) -> Decimal:
    async def one(tracker: CostTracker) -> Decimal:
        try:
            held = await tracker.areserve("shared-user", cost)
        except BudgetExceededError:
            return Decimal(0)
        await asyncio.sleep(0)
        await tracker.acommit(held, cost)
        return cost

    async def run() -> Decimal:
        spent = await asyncio.gather(*(one(trackers[i % len(trackers)]) for i in range(calls)))
        return sum(spent, Decimal(0))

    return asyncio.run(run())


def test_two_trackers_double_spend_without_a_shared_store() -> None:
    budget = {"shared-user": BudgetConfig(total=1)}
    trackers = [
        CostTracker(user_budgets=budget, enforcement_mode="enforce", store=MemoryLedgerStore()) for _ in range(2)
    ]
    assert _spend_concurrently(trackers, 200, Decimal("0.01")) == 2  # each spent the whole budget


def test_two_trackers_never_double_spend_with_a_shared_store(shared_ledger_url: str) -> None:
    budget = {"shared-user": BudgetConfig(total=1)}
    trackers = [CostTracker(user_budgets=budget, enforcement_mode="enforce", store=shared_ledger_url) for _ in range(2)]
    assert _spend_concurrently(trackers, 200, Decimal("0.01")) == 1
    assert trackers[0].spent("shared-user", "total") == 1
