"""A ledger store whose driver failures are :class:`~cascadeflow.errors.StoreUnavailableError`.

A ledger in SQLite, Redis or PostgreSQL fails with its driver's exceptions (``sqlite3.OperationalError:
database is locked``, ``redis.ConnectionError``, ``psycopg.OperationalError``, ``OSError``). Those reach the
caller from deep inside, and the gateway would answer 500 for what is a dependency being down (503). The tracker
wraps its store in :class:`GuardedStore`, so every read and write raises one named error, with the store kind
and a message scrubbed of URL credentials (:mod:`cascadeflow.store_errors`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from cascadeflow.budget.records import (
    BucketCheck,
    BucketRef,
    BucketState,
    LedgerRecord,
    ReserveOutcome,
    ReserveRequest,
    Settlement,
)
from cascadeflow.budget.stores.protocol import GroupBy, LedgerStore
from cascadeflow.errors import CascadeFlowError
from cascadeflow.store_errors import driver_errors, store_unavailable

T = TypeVar("T")


def store_kind(store: object) -> str:
    """``sqlite`` / ``redis`` / ``postgres`` / ``memory`` from the store's class name (for messages)."""
    name = type(store).__name__.lower()
    return next((kind for kind in ("sqlite", "redis", "postgres", "memory") if kind in name), name)


class GuardedStore:
    """Forwards every :class:`LedgerStore` call; a driver failure becomes :class:`StoreUnavailableError`."""

    def __init__(self, inner: LedgerStore) -> None:
        self.inner = inner
        self.kind = store_kind(inner)

    @property
    def blocking(self) -> bool:
        return self.inner.blocking

    def _call(self, what: str, fn: Callable[..., T], *args: object) -> T:
        try:
            return fn(*args)
        except CascadeFlowError:
            raise
        except driver_errors() as exc:
            raise store_unavailable("budget ledger", self.kind, what, exc) from exc

    def reserve(self, request: ReserveRequest) -> ReserveOutcome:
        return self._call("reserve", self.inner.reserve, request)

    def commit(self, settlement: Settlement) -> bool:
        return self._call("commit", self.inner.commit, settlement)

    def release(self, reservation_id: str, held: Sequence[BucketRef]) -> None:
        self._call("release", self.inner.release, reservation_id, held)

    def usage(self, checks: Sequence[BucketCheck]) -> list[BucketState]:
        return self._call("usage", self.inner.usage, checks)

    def records(self, user_id: str | None = None) -> list[LedgerRecord]:
        return self._call("records", self.inner.records, user_id)

    def totals(self, by: GroupBy) -> dict[str, int]:
        return self._call("totals", self.inner.totals, by)

    def close(self) -> None:
        self.inner.close()
