"""What a budget check sees (``EnforcementContext``), who decides (``EnforcementCallbacks``), what it decided.

A callback is the user's own policy (plans, tiers, any user database); without one, ``degrade_at`` /
``block_at`` thresholds decide. Amounts are ``Decimal``; comparing them with floats works as written in the
plan (``ctx.budget_remaining < 0.10``: Python compares Decimal and float exactly), arithmetic needs Decimal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, TypeAlias

from cascadeflow.budget.money import fmt_usd
from cascadeflow.errors import ConfigError

Action: TypeAlias = Literal["allow", "warn", "block", "degrade"]
ACTIONS: tuple[Action, ...] = ("allow", "warn", "block", "degrade")
EnforcementMode: TypeAlias = Literal["off", "observe", "warn", "enforce"]
MODES: tuple[EnforcementMode, ...] = ("off", "observe", "warn", "enforce")
UNLIMITED = Decimal("Infinity")


@dataclass(frozen=True, slots=True)
class EnforcementContext:
    """The tightest budget window of one user at the moment of a check.

    ``budget_remaining`` = budget − spent − held (what in-flight calls have reserved); it can be negative when
    an overdraft (``block_at`` > 1) was allowed. With no budget for the user, ``budget`` and
    ``budget_remaining`` are ``Decimal('Infinity')`` and ``window`` is ``"total"``. ``scope`` says whether the
    tightest window is the user's own or the tracker-wide ``budget_limit``.
    """

    user_id: str | None
    model: str
    estimated_cost: Decimal
    spent: Decimal
    budget: Decimal
    budget_remaining: Decimal
    window: str
    held: Decimal = Decimal(0)
    scope: Literal["user", "all users"] = "user"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def utilization(self) -> float:
        """(spent + held) / budget; 0.0 without a budget, ``inf`` for a zero budget with spending."""
        if not self.budget.is_finite():
            return 0.0
        used = self.spent + self.held
        if self.budget == 0:
            return float("inf") if used > 0 else 0.0
        return float(used / self.budget)


@dataclass(frozen=True, slots=True)
class BudgetAlert:
    """A window crossed ``alert_threshold`` of its budget (sent once per window and tracker)."""

    user_id: str | None
    window: str
    spent: Decimal
    budget: Decimal
    utilization: float
    threshold: float


CallbackResult: TypeAlias = tuple[str, str | None] | str | None
BudgetCheck: TypeAlias = Callable[[EnforcementContext], CallbackResult | Awaitable[CallbackResult]]


@dataclass(frozen=True, slots=True)
class EnforcementCallbacks:
    """The user's hooks. ``on_budget_check`` returns ``(action, reason)``, an action, or ``None`` (let the
    thresholds decide); ``on_alert`` hears threshold alerts. Async callbacks are awaited on async paths."""

    on_budget_check: BudgetCheck | None = None
    on_alert: Callable[[BudgetAlert], None] | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """One budget decision: the action, why, who decided, and whether it was applied (not in observe/off)."""

    action: Action
    reason: str
    context: EnforcementContext
    decided_by: Literal["callback", "threshold", "none"]
    applied: bool


def parse_callback_result(result: object) -> tuple[Action, str] | None:
    """Normalise what ``on_budget_check`` returned; a typo'd action is a ConfigError, never a silent allow."""
    if result is None:
        return None
    action: object
    reason: object
    if isinstance(result, str):
        action, reason = result, ""
    elif isinstance(result, tuple) and len(result) == 2:
        action, reason = result
    else:
        raise ConfigError("on_budget_check", f"must return (action, reason), an action or None, got {result!r}")
    for known in ACTIONS:
        if action == known:
            return known, "" if reason is None else str(reason)
    raise ConfigError("on_budget_check", f"action must be one of {', '.join(ACTIONS)}, got {action!r}")


def threshold_action(
    ctx: EnforcementContext, mode: EnforcementMode, degrade_at: float, block_at: float
) -> tuple[Action, str]:
    """The thresholds' verdict; in warn/observe mode never worse than ``warn``.

    Block only on *committed* spending plus this call: money held by in-flight calls is about to come back, so
    the store waits for it instead of refusing. Degrade counts the holds too: they are likely to be spent.
    """
    if not ctx.budget.is_finite():
        return "allow", "no budget applies"
    settled = ctx.spent + ctx.estimated_cost
    projected = settled + ctx.held
    where = f"{ctx.window} budget: {fmt_usd(projected)} of {fmt_usd(ctx.budget)} USD with this call"
    if _share(settled, ctx.budget) > Decimal(str(block_at)):
        action: Action = "block"
    elif _share(projected, ctx.budget) >= Decimal(str(degrade_at)):
        action = "degrade"
    else:
        return "allow", where
    if mode != "enforce":
        return "warn", f"would {action}: {where}"
    return action, where


def _share(amount: Decimal, budget: Decimal) -> Decimal:
    if budget > 0:
        return amount / budget
    return Decimal("Infinity") if amount > 0 else Decimal(0)
