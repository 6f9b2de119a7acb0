"""The ledger-store protocol: atomic reserve → commit/release over integer nano-dollar buckets.

Every implementation makes ``reserve`` one atomic step (lock, check limits against committed + unexpired
holds, hold), so concurrent callers in any number of processes can never admit more than a limit; holds carry
an expiry, so a process that dies mid-call frees its money after the TTL instead of leaking it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

from cascadeflow.budget.records import (
    BucketCheck,
    BucketRef,
    BucketState,
    LedgerRecord,
    ReserveOutcome,
    ReserveRequest,
    Settlement,
)

GroupBy = Literal["model", "user_id"]


@runtime_checkable
class LedgerStore(Protocol):
    """Where budgets, holds and settled records live. ``blocking`` stores are called from a worker thread."""

    @property
    def blocking(self) -> bool: ...

    def reserve(self, request: ReserveRequest) -> ReserveOutcome: ...

    def commit(self, settlement: Settlement) -> bool:
        """Record and credit once; ``False`` when this reservation was already settled."""
        ...

    def release(self, reservation_id: str, held: Sequence[BucketRef]) -> None: ...

    def usage(self, checks: Sequence[BucketCheck]) -> list[BucketState]:
        """Committed and unexpired held units of each bucket (zero for buckets never used)."""
        ...

    def records(self, user_id: str | None = None) -> list[LedgerRecord]:
        """Settled records in settlement order, of one user or of everyone."""
        ...

    def totals(self, by: GroupBy) -> dict[str, int]:
        """Committed nano-dollars per model or per user, over all records."""
        ...

    def close(self) -> None: ...


def decide_grant(states: Sequence[BucketState], request: ReserveRequest) -> ReserveOutcome:
    """The one admission rule every SQL/in-memory store applies (the Redis script mirrors it in Lua).

    Grant the full want when it fits everywhere, else as much as fits if that is at least ``at_least``, else
    refuse naming the tightest bucket.
    """
    if not request.enforce:
        return ReserveOutcome(request.want_units)
    limited = [(available, state) for state in states if (available := state.available_units) is not None]
    if not limited:
        return ReserveOutcome(request.want_units)
    available, tightest = min(limited, key=lambda pair: pair[0])
    if available >= request.want_units:
        return ReserveOutcome(request.want_units)
    if available >= request.at_least_units:
        return ReserveOutcome(available)
    return ReserveOutcome(0, blocking=tightest)
