"""The values that cross the ledger-store boundary: settled-call records, buckets, reservations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from cascadeflow.budget.money import units_up, usd

ALL_USERS = "*"
"""Account of the tracker-wide ``budget_limit`` (user accounts are ``u:<user_id>``, so no user can collide)."""


def user_account(user_id: str | None) -> str:
    return f"u:{user_id or ''}"


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One settled call: when, who, which model, tokens in/out, exact cost, and the ids that tie it together."""

    time: datetime
    user_id: str
    model: str
    input_tokens: int
    output_tokens: int
    cost: Decimal
    request_id: str
    reservation_id: str

    @property
    def cost_units(self) -> int:
        return units_up(self.cost)

    @classmethod
    def from_units(
        cls,
        *,
        time: datetime,
        user_id: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cost_units: int,
        request_id: str,
        reservation_id: str,
    ) -> LedgerRecord:
        return cls(time, user_id, model, input_tokens, output_tokens, usd(cost_units), request_id, reservation_id)


@dataclass(frozen=True, slots=True, order=True)
class BucketRef:
    """One account's spending in one window (``window_key`` from :func:`cascadeflow.budget.windows.window_key`)."""

    account: str
    window_key: str


@dataclass(frozen=True, slots=True)
class BucketCheck:
    """A bucket a reservation must fit in; ``limit_units`` None records in-flight money without a limit."""

    bucket: BucketRef
    limit_units: int | None


@dataclass(frozen=True, slots=True)
class BucketState:
    """Committed and held (unexpired reservations) nano-dollars of one bucket, with its limit if checked."""

    bucket: BucketRef
    limit_units: int | None
    committed_units: int
    held_units: int

    @property
    def available_units(self) -> int | None:
        if self.limit_units is None:
            return None
        return self.limit_units - self.committed_units - self.held_units


@dataclass(frozen=True, slots=True)
class ReserveRequest:
    """Hold between ``at_least_units`` and ``want_units`` in every checked bucket, for ``ttl_seconds``.

    With ``enforce`` false the limits are not applied (warn/observe modes) but the hold is still recorded.
    """

    reservation_id: str
    checks: tuple[BucketCheck, ...]
    want_units: int
    at_least_units: int
    ttl_seconds: float
    enforce: bool


@dataclass(frozen=True, slots=True)
class ReserveOutcome:
    """``granted_units`` > 0 when held (possibly less than wanted); else ``blocking`` is the bucket that refused."""

    granted_units: int
    blocking: BucketState | None = None

    @property
    def granted(self) -> bool:
        return self.blocking is None


@dataclass(frozen=True, slots=True)
class Settlement:
    """Turn a reservation into spending: credit ``cost_units`` to ``credits``, drop its holds, keep ``record``.

    Idempotent per reservation id: settling twice records and credits once.
    """

    reservation_id: str
    held: tuple[BucketRef, ...]
    credits: tuple[BucketRef, ...]
    record: LedgerRecord
