"""Threshold alerts: tell once per window when spending crosses ``alert_threshold`` of a budget."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from cascadeflow.budget.enforcement import BudgetAlert
from cascadeflow.budget.money import fmt_usd, usd
from cascadeflow.budget.policy import Limit
from cascadeflow.budget.records import BucketState

logger = logging.getLogger("cascadeflow.budget")


class AlertWatch:
    """Remembers the last window each (account, window kind) alerted in, so an alert fires once per window."""

    def __init__(self, threshold: float | None, on_alert: Callable[[BudgetAlert], None] | None) -> None:
        self.threshold = threshold
        self._on_alert = on_alert
        self._last: dict[tuple[str, str], str] = {}

    @property
    def enabled(self) -> bool:
        return self.threshold is not None

    def observe(self, user_id: str | None, limits: Sequence[Limit], states: Sequence[BucketState]) -> list[BudgetAlert]:
        if self.threshold is None:
            return []
        fired: list[BudgetAlert] = []
        for limit, state in zip(limits, states, strict=True):
            spent = usd(state.committed_units)
            share = float(spent / limit.budget) if limit.budget > 0 else (1.0 if spent > 0 else 0.0)
            slot = (limit.bucket.account, limit.window)
            if share < self.threshold or self._last.get(slot) == limit.bucket.window_key:
                continue
            self._last[slot] = limit.bucket.window_key
            alert = BudgetAlert(user_id, limit.window, spent, limit.budget, share, self.threshold)
            fired.append(alert)
            logger.warning(
                "approaching %s budget%s: %s of %s USD (%.1f%%)", limit.window,
                "" if user_id is None else f" of user {user_id!r}", fmt_usd(spent), fmt_usd(limit.budget), share * 100,
            )
            if self._on_alert is not None:
                self._on_alert(alert)
        return fired
