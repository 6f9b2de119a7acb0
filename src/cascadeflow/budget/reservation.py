"""A held reservation: what the agent's budget wrapper carries from ``reserve`` to ``commit``/``release``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cascadeflow.budget.enforcement import Action, Decision
from cascadeflow.budget.policy import Limit
from cascadeflow.budget.records import BucketRef


@dataclass(frozen=True, slots=True)
class Reservation:
    """Money held for one call until it is committed (at its real cost) or released, or its TTL passes.

    ``max_tokens`` (from ``reserve_call``) is what the held amount pays for: send the call with it. ``action``
    is the budget decision (``degrade``: restrict the cascade to tiers the remaining budget can pay for).
    """

    reservation_id: str
    request_id: str
    user_id: str | None
    model: str
    amount: Decimal
    limits: tuple[Limit, ...]
    credits: tuple[BucketRef, ...]
    decision: Decision
    max_tokens: int | None = None
    shrunk: bool = False

    @property
    def action(self) -> Action:
        return self.decision.action

    @property
    def held(self) -> tuple[BucketRef, ...]:
        """The buckets this reservation holds money in (its limited windows)."""
        return tuple(limit.bucket for limit in self.limits)
