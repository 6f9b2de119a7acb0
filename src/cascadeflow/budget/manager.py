"""``BudgetManager``: the production guide's hourly/daily/monthly budgets, as a face over one ``CostTracker``.

The guide's pattern is check, call, record. Checked and recorded separately, concurrent requests overshoot (all
pass the check before any records), so here ``can_afford`` *holds* the estimate for the current task or thread
(a context variable) and ``record_cost`` settles that hold at the real cost. Nothing is counted twice: the
manager keeps no spending of its own, it reads the tracker's ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from cascadeflow.budget.config import BudgetConfig
from cascadeflow.budget.enforcement import BudgetAlert, EnforcementCallbacks
from cascadeflow.budget.money import MoneyLike
from cascadeflow.budget.records import LedgerRecord
from cascadeflow.budget.reservation import Reservation
from cascadeflow.budget.stores import LedgerStore
from cascadeflow.budget.tracker import DEFAULT_RESERVATION_TTL_S, CostTracker
from cascadeflow.budget.windows import Window
from cascadeflow.errors import BudgetExceededError, ConfigError

_PERIODS: tuple[Window, ...] = ("hourly", "daily", "monthly")


class BudgetManager:
    """Hourly, daily and monthly budgets for everything this manager's store sees, with threshold alerts."""

    def __init__(
        self,
        hourly_budget: MoneyLike | None = None,
        daily_budget: MoneyLike | None = None,
        monthly_budget: MoneyLike | None = None,
        alert_threshold: float = 0.8,
        *,
        store: str | LedgerStore | None = None,
        timezone: str | tzinfo | None = None,
        on_alert: Callable[[BudgetAlert], None] | None = None,
        reservation_ttl: float = DEFAULT_RESERVATION_TTL_S,
        hold_wait: float = 0.0,
    ) -> None:
        self.budgets = BudgetConfig(hourly=hourly_budget, daily=daily_budget, monthly=monthly_budget)
        self.alert_threshold = alert_threshold
        self.tracker = CostTracker(
            budget_limit=self.budgets,
            enforcement_mode="enforce",
            enforcement_callbacks=EnforcementCallbacks(on_alert=on_alert),
            store=store,
            timezone=timezone,
            alert_threshold=alert_threshold,
            reservation_ttl=reservation_ttl,
            hold_wait=hold_wait,
        )
        self._pending: ContextVar[Reservation | None] = ContextVar(f"budget_manager_{id(self)}", default=None)
        self._settled_cost = Decimal(0)

    def can_afford(self, estimated_cost: MoneyLike, *, model: str = "") -> tuple[bool, str]:
        """Hold ``estimated_cost`` for this task/thread until :meth:`record_cost` (or :meth:`release`)."""
        self.release()
        try:
            self._pending.set(self.tracker.reserve(None, estimated_cost, model=model))
        except BudgetExceededError as exc:
            return False, f"{str(exc.window).capitalize()} budget exceeded"
        return True, "OK"

    def record_cost(
        self, cost: MoneyLike, *, model: str | None = None, input_tokens: int = 0, output_tokens: int = 0
    ) -> LedgerRecord:
        """Settle this task's hold at the real cost (alerts fire here when a window crosses the threshold)."""
        held = self._pending.get()
        if held is None:
            raise ConfigError("record_cost", "no cost held in this task or thread: call can_afford() first")
        self._pending.set(None)
        record = self.tracker.commit(
            held, cost, model=model, input_tokens=input_tokens, output_tokens=output_tokens
        )
        self._settled_cost += record.cost
        return record

    def release(self) -> None:
        """Give back this task's hold (the call failed before costing anything)."""
        held = self._pending.get()
        if held is not None:
            self._pending.set(None)
            self.tracker.release(held)

    def get_stats(self) -> dict[str, Any]:
        """Spent, budget, remaining and utilization per window, plus this manager's query counts."""
        out: dict[str, Any] = {}
        for period in _PERIODS:
            budget = self.budgets.limit(period)
            if budget is None:
                continue
            spent = self.tracker.spent(None, period)
            out[period] = {
                "spent": spent,
                "budget": budget,
                "remaining": budget - spent,
                "utilization": float(spent / budget) if budget > 0 else 0.0,
            }
        stats = self.tracker.stats
        out["total_queries"] = stats.committed
        out["blocked_queries"] = stats.blocked
        out["avg_cost"] = self._settled_cost / stats.committed if stats.committed else Decimal(0)
        return out
