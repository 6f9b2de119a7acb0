"""The pure steps of admitting and settling one call, shared by the tracker's sync and async paths.

No I/O here: the tracker reads the store, calls callbacks and sleeps; these functions only build requests,
contexts, reservations and settlements, and say whether a refusal is final or worth waiting out.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from cascadeflow.budget.config import BudgetConfig
from cascadeflow.budget.enforcement import MODES, Decision, EnforcementContext
from cascadeflow.budget.money import MoneyLike, fmt_usd, to_decimal, units_up, usd
from cascadeflow.budget.planner import CallPlan, TokenPrice, plan_call
from cascadeflow.budget.policy import (
    BudgetPolicy,
    Limit,
    checks_for,
    context_for,
    credits_for,
    limits_for,
    refusal_error,
)
from cascadeflow.budget.records import (
    BucketCheck,
    BucketRef,
    BucketState,
    LedgerRecord,
    ReserveOutcome,
    ReserveRequest,
    Settlement,
    user_account,
)
from cascadeflow.budget.reservation import Reservation
from cascadeflow.errors import BudgetExceededError, ConfigError


@dataclass(frozen=True, slots=True)
class PendingCall:
    """One reservation being admitted: its limits, its store request, where its cost will be credited."""

    user_id: str | None
    model: str
    request_id: str
    want: Decimal
    at_least: Decimal
    limits: tuple[Limit, ...]
    request: ReserveRequest
    credits: tuple[BucketRef, ...]
    snapshot: tuple[BucketCheck, ...]  # what to read before deciding (the limits, or the user's total)
    metadata: Mapping[str, Any]


def pending_call(
    policy: BudgetPolicy,
    *,
    user_id: str | None,
    model: str,
    want: Decimal,
    at_least: Decimal,
    now: datetime,
    ttl: float,
    read_total: bool,
    metadata: Mapping[str, Any] | None = None,
    request_id: str | None = None,
) -> PendingCall:
    limits = limits_for(policy, user_id, now) if policy.mode != "off" else ()
    checks = checks_for(policy, limits)
    rid = uuid.uuid4().hex
    request = ReserveRequest(rid, checks, units_up(want), units_up(at_least), ttl, enforce=policy.mode == "enforce")
    snapshot = checks
    if not limits and read_total and policy.mode != "off":
        snapshot = (BucketCheck(BucketRef(user_account(user_id), "total"), None),)
    return PendingCall(
        user_id, model, request_id or rid, want, at_least, limits, request, credits_for(policy, user_id, now),
        snapshot, metadata or {},
    )


def call_context(pending: PendingCall, states: list[BucketState]) -> EnforcementContext:
    estimate = (pending.want, pending.at_least)
    return context_for(pending.user_id, pending.model, estimate, pending.limits, states, pending.metadata)


def refusal(pending: PendingCall, outcome: ReserveOutcome, *, waited_out: bool) -> BudgetExceededError | None:
    """For a refused hold: the error to raise, or ``None`` when only other calls' holds stand in the way
    (committed spending alone still leaves room) and there is time left to wait for them."""
    state = outcome.blocking
    assert state is not None
    limit = next(lim for lim in pending.limits if lim.bucket == state.bucket)
    room = (state.limit_units or 0) - state.committed_units
    if room >= pending.request.at_least_units:
        return None if not waited_out else refusal_error(pending.user_id, limit, state, "in-flight calls hold the rest")
    needed = fmt_usd(usd(pending.request.at_least_units))
    return refusal_error(pending.user_id, limit, state, f"this call needs at least {needed} USD")


def reservation_for(pending: PendingCall, decision: Decision, granted_units: int) -> Reservation:
    return Reservation(
        pending.request.reservation_id, pending.request_id, pending.user_id, pending.model, usd(granted_units),
        pending.limits, pending.credits, decision,
    )


def call_bounds(
    price: TokenPrice, prompt_tokens: int, max_tokens: int | None, default_max_tokens: int, min_output_tokens: int
) -> tuple[Decimal, Decimal]:
    """(worst case of the full call, cost of the prompt plus the smallest acceptable answer)."""
    full = plan_call(None, price, prompt_tokens, max_tokens, default_max_tokens=default_max_tokens)
    assert isinstance(full, CallPlan)  # no limit: always a plan
    return full.reserve, price.cost(prompt_tokens, min(min_output_tokens, full.max_tokens))


def fit_call(
    held: Reservation, price: TokenPrice, prompt_tokens: int, max_tokens: int | None, default: int, min_output: int
) -> Reservation:
    """The held reservation with the ``max_tokens`` its amount pays for."""
    plan = plan_call(
        held.amount, price, prompt_tokens, max_tokens, default_max_tokens=default, min_output_tokens=min_output
    )
    if not isinstance(plan, CallPlan):  # pragma: no cover - the store granted at least the minimum
        raise AssertionError(plan.reason)
    return replace(held, max_tokens=plan.max_tokens, shrunk=plan.shrunk)


def settlement_for(
    reservation: Reservation,
    cost: MoneyLike,
    *,
    input_tokens: int,
    output_tokens: int,
    model: str | None,
    now: datetime,
) -> Settlement:
    amount = cost_arg(cost, "cost")
    if input_tokens < 0 or output_tokens < 0:
        raise ConfigError("tokens", "input_tokens and output_tokens must be >= 0")
    record = LedgerRecord.from_units(
        time=now, user_id=reservation.user_id or "", model=model or reservation.model,
        input_tokens=input_tokens, output_tokens=output_tokens, cost_units=units_up(amount),
        request_id=reservation.request_id, reservation_id=reservation.reservation_id,
    )
    return Settlement(reservation.reservation_id, reservation.held, reservation.credits, record)


def alert_checks(reservation: Reservation) -> tuple[BucketCheck, ...]:
    return tuple(BucketCheck(limit.bucket, None) for limit in reservation.limits)


def cost_arg(value: MoneyLike, field: str) -> Decimal:
    amount = to_decimal(value, field)
    if amount < 0:
        raise ConfigError(field, f"must be >= 0 USD, got {value!r}")
    return amount


def global_budget(value: MoneyLike | BudgetConfig | None) -> BudgetConfig | None:
    if value is None or isinstance(value, BudgetConfig):
        return value
    return BudgetConfig(total=value)


def validate_settings(
    mode: str, degrade_at: float, block_at: float, alert: float | None, ttl: float, hold_wait: float, min_out: int
) -> None:
    if mode not in MODES:
        raise ConfigError("enforcement_mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
    if not 0 < degrade_at <= block_at:
        raise ConfigError("degrade_at", f"must be > 0 and <= block_at ({block_at}), got {degrade_at!r}")
    if alert is not None and not 0 < alert <= 1:
        raise ConfigError("alert_threshold", f"must be in (0, 1], got {alert!r}")
    if ttl <= 0:
        raise ConfigError("reservation_ttl", f"must be > 0 seconds, got {ttl!r}")
    if hold_wait < 0:
        raise ConfigError("hold_wait", f"must be >= 0 seconds, got {hold_wait!r}")
    if min_out < 1:
        raise ConfigError("min_output_tokens", f"must be >= 1, got {min_out!r}")
