"""Admission rules of a :class:`~cascadeflow.budget.tracker.CostTracker`, as pure functions over its policy.

Which buckets a user's call must fit in (their windows, and the tracker-wide ``budget_limit``), which buckets
its cost is credited to, what the enforcement callback sees, and what the thresholds say when it is silent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from cascadeflow.budget.config import BudgetConfig
from cascadeflow.budget.enforcement import (
    UNLIMITED,
    Action,
    Decision,
    EnforcementContext,
    EnforcementMode,
    threshold_action,
)
from cascadeflow.budget.money import fmt_usd, units_down, usd
from cascadeflow.budget.records import ALL_USERS, BucketCheck, BucketRef, BucketState, user_account
from cascadeflow.budget.windows import WINDOWS, Window, WindowKeys
from cascadeflow.errors import BudgetExceededError


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    user_budgets: Mapping[str, BudgetConfig]
    default_budget: BudgetConfig | None
    global_budget: BudgetConfig | None
    mode: EnforcementMode
    degrade_at: float
    block_at: float
    tz: tzinfo
    keys: WindowKeys = field(init=False)
    """The policy's window-key memo (per second; see :class:`WindowKeys`)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", WindowKeys(self.tz))

    def budget_of(self, user_id: str | None) -> BudgetConfig | None:
        if user_id is None:
            return None
        return self.user_budgets.get(user_id, self.default_budget)


@dataclass(frozen=True, slots=True)
class Limit:
    """One limited window that applies to a call: its bucket and its budget (before ``block_at``)."""

    bucket: BucketRef
    window: Window
    budget: Decimal
    tracker_wide: bool


def limits_for(policy: BudgetPolicy, user_id: str | None, now: datetime) -> tuple[Limit, ...]:
    out: list[Limit] = []
    for config, account, wide in (
        (policy.budget_of(user_id), user_account(user_id), False),
        (policy.global_budget, ALL_USERS, True),
    ):
        if config is not None:
            out.extend(
                Limit(BucketRef(account, policy.keys(w, now)), w, amount, wide)
                for w, amount in config.limits()
            )
    return tuple(out)


def checks_for(policy: BudgetPolicy, limits: Sequence[Limit]) -> tuple[BucketCheck, ...]:
    """Store-side limits: the budget times ``block_at`` (an overdraft the user allowed), in nano-dollars."""
    factor = Decimal(str(policy.block_at))
    return tuple(BucketCheck(lim.bucket, units_down(lim.budget * factor)) for lim in limits)


def credits_for(policy: BudgetPolicy, user_id: str | None, now: datetime) -> tuple[BucketRef, ...]:
    """Every window of the user and of the tracker-wide account, limited or not, so any spend is readable."""
    return tuple(
        BucketRef(account, policy.keys(w, now))
        for account in (user_account(user_id), ALL_USERS)
        for w in WINDOWS
    )


def context_for(
    user_id: str | None,
    model: str,
    estimate: tuple[Decimal, Decimal],
    limits: Sequence[Limit],
    states: Sequence[BucketState],
    metadata: Mapping[str, Any],
) -> EnforcementContext:
    """The tightest window (least left); the estimate is what would be reserved now (shrunk to fit if need be)."""
    want, at_least = estimate
    if not limits:
        spent = usd(states[0].committed_units) if states else Decimal(0)
        return EnforcementContext(user_id, model, want, spent, UNLIMITED, UNLIMITED, "total", metadata=metadata)
    left = [lim.budget - usd(st.committed_units) - usd(st.held_units) for lim, st in zip(limits, states, strict=True)]
    i = min(range(len(limits)), key=left.__getitem__)
    estimated = want if left[i] >= want else max(left[i], at_least)
    return EnforcementContext(
        user_id, model, estimated, usd(states[i].committed_units), limits[i].budget, left[i], limits[i].window,
        held=usd(states[i].held_units), scope="all users" if limits[i].tracker_wide else "user", metadata=metadata,
    )


def judge(policy: BudgetPolicy, ctx: EnforcementContext, by_callback: tuple[Action, str] | None) -> Decision:
    """The callback's verdict when it gave one, else the thresholds'; applied except in observe mode."""
    if by_callback is not None:
        action, reason = by_callback
        return Decision(action, reason, ctx, "callback", applied=policy.mode != "observe")
    action, reason = threshold_action(ctx, policy.mode, policy.degrade_at, policy.block_at)
    return Decision(action, reason, ctx, "threshold", applied=policy.mode != "observe")


def blocked_error(ctx: EnforcementContext, reason: str) -> BudgetExceededError:
    limit = ctx.budget if ctx.budget.is_finite() else None
    who = "no user" if ctx.user_id is None else f"user {ctx.user_id!r}"
    where = ctx.window if ctx.scope == "user" else f"{ctx.window} (all users)"
    return BudgetExceededError(
        f"budget exceeded for {who}, {where} window: spent {fmt_usd(ctx.spent)} of "
        f"{'no limit' if limit is None else fmt_usd(limit)} USD ({reason})",
        user_id=ctx.user_id, window=ctx.window, spent=ctx.spent, limit=limit,
    )


def refusal_error(user_id: str | None, limit: Limit, state: BucketState, reason: str) -> BudgetExceededError:
    where = limit.window if not limit.tracker_wide else f"{limit.window} (all users)"
    spent = usd(state.committed_units)
    who = "no user" if user_id is None else f"user {user_id!r}"
    return BudgetExceededError(
        f"budget exceeded for {who}, {where} window: spent {fmt_usd(spent)} of {fmt_usd(limit.budget)} USD ({reason})",
        user_id=user_id, window=limit.window, spent=spent, limit=limit.budget,
    )
