"""A ledger store that fails is a :class:`StoreUnavailableError` naming the store, scrubbed of credentials; our own
errors pass through unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import NoReturn

import pytest

from cascadeflow.budget import BudgetConfig, CostTracker
from cascadeflow.budget.records import BucketCheck, BucketRef, BucketState, ReserveRequest, Settlement
from cascadeflow.budget.stores.guarded import GuardedStore
from cascadeflow.budget.stores.memory import MemoryLedgerStore
from cascadeflow.errors import BudgetExceededError, StoreUnavailableError


class BrokenRedisStore(MemoryLedgerStore):
    """A store whose connection is gone: every write fails the way a driver does (an OSError)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error

    def _fail(self) -> NoReturn:
        raise self.error

    def reserve(self, request: ReserveRequest) -> NoReturn:
        self._fail()

    def commit(self, settlement: Settlement) -> NoReturn:
        self._fail()

    def release(self, reservation_id: str, held: Sequence[BucketRef]) -> NoReturn:
        self._fail()

    def usage(self, checks: Sequence[BucketCheck]) -> list[BucketState]:
        self._fail()


def test_a_driver_failure_becomes_store_unavailable_with_the_url_scrubbed() -> None:
    store = BrokenRedisStore(ConnectionRefusedError("connect to redis://admin:hunter2@cache:6379/0 refused"))
    tracker = CostTracker(user_budgets={"u": BudgetConfig(daily=1)}, enforcement_mode="enforce", store=store)
    with pytest.raises(StoreUnavailableError) as info:
        tracker.reserve("u", Decimal("0.01"))
    message = str(info.value)
    assert info.value.store == "redis" and "budget ledger (redis)" in message and "ConnectionRefusedError" in message
    assert "hunter2" not in message and "admin" not in message
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


async def test_the_async_path_maps_the_same_failure() -> None:
    store = BrokenRedisStore(OSError("network is unreachable"))
    tracker = CostTracker(user_budgets={"u": BudgetConfig(daily=1)}, enforcement_mode="enforce", store=store)
    with pytest.raises(StoreUnavailableError, match="network is unreachable"):
        await tracker.areserve("u", Decimal("0.01"))


def test_our_own_errors_and_results_pass_through() -> None:
    guarded = GuardedStore(BrokenRedisStore(BudgetExceededError("over budget")))
    with pytest.raises(BudgetExceededError):
        guarded.release("r", [])
    working = GuardedStore(MemoryLedgerStore())
    assert working.kind == "memory" and working.totals("model") == {} and working.records() == []


def test_programming_errors_are_not_disguised_as_an_outage() -> None:
    guarded = GuardedStore(BrokenRedisStore(TypeError("bug")))
    with pytest.raises(TypeError):
        guarded.release("r", [])
