"""Waiting for SQLite's write lock: a writer retries with short pauses while another process holds it, and gives
up once ``busy_timeout_s`` has passed with :class:`StoreUnavailableError` (never silently, never a raw driver
error)."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from cascadeflow.budget import BudgetConfig, CostTracker
from cascadeflow.budget.stores.sqlite import SqliteLedgerStore
from cascadeflow.errors import StoreUnavailableError

WORST = Decimal("0.001")


def _tracker(path: Path, busy_timeout_s: float) -> CostTracker:
    store = SqliteLedgerStore(path, busy_timeout_s=busy_timeout_s)
    return CostTracker(user_budgets={"u": BudgetConfig(daily=100)}, enforcement_mode="enforce", store=store)


def _hold_write_lock(path: Path, release: threading.Event) -> threading.Thread:
    """Another writer (as another process would): BEGIN IMMEDIATE on its own connection until ``release``."""
    taken = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        taken.set()
        release.wait(10)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(5)
    return thread


def test_a_writer_waits_for_a_lock_released_within_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    tracker = _tracker(path, busy_timeout_s=10.0)
    release = threading.Event()
    holder = _hold_write_lock(path, release)
    timer = threading.Timer(0.2, release.set)  # the other writer finishes while we retry
    timer.start()
    held = tracker.reserve("u", WORST)
    tracker.commit(held, WORST)
    holder.join()
    assert tracker.spent("u") == WORST


def test_a_writer_gives_up_with_a_typed_error_after_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    tracker = _tracker(path, busy_timeout_s=0.2)
    release = threading.Event()
    holder = _hold_write_lock(path, release)
    try:
        with pytest.raises(StoreUnavailableError, match=r"budget ledger \(sqlite\).*locked") as info:
            tracker.reserve("u", WORST)
        assert info.value.store == "sqlite" and isinstance(info.value.__cause__, sqlite3.OperationalError)
    finally:
        release.set()
        holder.join()
    held = tracker.reserve("u", WORST)  # the lock is free again: nothing was left half-done
    tracker.release(held)
