"""In-process ledger store: the default. Atomic under a lock; shared by every tracker that holds this object."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence

from cascadeflow.budget.records import (
    BucketCheck,
    BucketRef,
    BucketState,
    LedgerRecord,
    ReserveOutcome,
    ReserveRequest,
    Settlement,
)
from cascadeflow.budget.stores.protocol import GroupBy, decide_grant


class MemoryLedgerStore:
    """Buckets, holds and records in dicts. ``clock`` (seconds) decides when holds expire; injectable for tests.

    Not shared between processes: two processes with their own memory stores each spend the whole budget.
    Use ``sqlite:///path`` (one machine) or Redis/PostgreSQL (many machines) for that.
    """

    blocking = False

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._committed: dict[BucketRef, int] = defaultdict(int)
        self._holds: dict[BucketRef, dict[str, tuple[int, float]]] = defaultdict(dict)
        self._records: list[LedgerRecord] = []
        self._settled: set[str] = set()

    def _held(self, bucket: BucketRef, now: float) -> int:
        holds = self._holds.get(bucket)
        if not holds:
            return 0
        for rid in [rid for rid, (_, expires) in holds.items() if expires <= now]:
            del holds[rid]
        return sum(amount for amount, _ in holds.values())

    def _state(self, check: BucketCheck, now: float) -> BucketState:
        bucket = check.bucket
        return BucketState(bucket, check.limit_units, self._committed.get(bucket, 0), self._held(bucket, now))

    def reserve(self, request: ReserveRequest) -> ReserveOutcome:
        with self._lock:
            now = self._clock()
            outcome = decide_grant([self._state(c, now) for c in request.checks], request)
            if outcome.granted:
                expires = now + request.ttl_seconds
                for check in request.checks:
                    self._holds[check.bucket][request.reservation_id] = (outcome.granted_units, expires)
            return outcome

    def commit(self, settlement: Settlement) -> bool:
        with self._lock:
            self._drop_holds(settlement.reservation_id, settlement.held)
            if settlement.reservation_id in self._settled:
                return False
            self._settled.add(settlement.reservation_id)
            units = settlement.record.cost_units
            for bucket in settlement.credits:
                self._committed[bucket] += units
            self._records.append(settlement.record)
            return True

    def release(self, reservation_id: str, held: Sequence[BucketRef]) -> None:
        with self._lock:
            self._drop_holds(reservation_id, held)

    def _drop_holds(self, reservation_id: str, held: Sequence[BucketRef]) -> None:
        for bucket in held:
            holds = self._holds.get(bucket)
            if holds is not None:
                holds.pop(reservation_id, None)

    def usage(self, checks: Sequence[BucketCheck]) -> list[BucketState]:
        with self._lock:
            now = self._clock()
            return [self._state(c, now) for c in checks]

    def records(self, user_id: str | None = None) -> list[LedgerRecord]:
        with self._lock:
            return [r for r in self._records if user_id is None or r.user_id == user_id]

    def totals(self, by: GroupBy) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        with self._lock:
            for record in self._records:
                out[record.model if by == "model" else record.user_id] += record.cost_units
        return dict(out)

    def close(self) -> None:
        """Nothing to release; kept for the protocol."""
