"""BudgetManager: the production guide's API over one CostTracker."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest

from cascadeflow.budget import BudgetAlert, BudgetManager
from cascadeflow.errors import ConfigError


def test_guide_usage_check_call_record_and_stats(caplog: pytest.LogCaptureFixture) -> None:
    alerts: list[BudgetAlert] = []
    manager = BudgetManager(hourly_budget=1.0, daily_budget=10.0, monthly_budget=250.0, on_alert=alerts.append)
    assert manager.can_afford(estimated_cost=0.5) == (True, "OK")
    with caplog.at_level(logging.WARNING, logger="cascadeflow.budget"):
        manager.record_cost(0.45, model="gpt-4o-mini")
        assert manager.can_afford(0.4) == (True, "OK")
        manager.record_cost(0.4)
    assert [a.window for a in alerts] == ["hourly"]  # 0.85 of the hourly budget crossed 0.8, once
    assert "approaching hourly budget" in caplog.text
    assert manager.can_afford(0.2) == (False, "Hourly budget exceeded")
    stats = manager.get_stats()
    assert stats["hourly"] == {
        "spent": Decimal("0.85"), "budget": Decimal(1), "remaining": Decimal("0.15"), "utilization": 0.85,
    }
    assert stats["daily"]["remaining"] == Decimal("9.15")
    assert (stats["total_queries"], stats["blocked_queries"], stats["avg_cost"]) == (2, 1, Decimal("0.425"))


def test_holds_are_per_task_so_concurrent_requests_cannot_overshoot() -> None:
    manager = BudgetManager(hourly_budget=1.0, daily_budget=10.0, monthly_budget=250.0)

    async def request() -> bool:
        ok, _ = manager.can_afford(0.1)
        if not ok:
            return False
        await asyncio.sleep(0.001)  # the model call
        manager.record_cost(0.1)
        return True

    async def main() -> list[bool]:
        return list(await asyncio.gather(*(request() for _ in range(50))))

    assert sum(asyncio.run(main())) == 10
    assert manager.tracker.spent(None, "hourly") == 1


def test_record_without_a_hold_and_release() -> None:
    manager = BudgetManager(daily_budget=1.0)
    with pytest.raises(ConfigError, match="can_afford"):
        manager.record_cost(0.1)
    manager.can_afford(1.0)
    manager.release()
    assert manager.can_afford(1.0) == (True, "OK")
