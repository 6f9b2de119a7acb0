"""BudgetConfig, exact money and calendar windows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from cascadeflow import BudgetExceededError, CascadeFlowError, RateLimitExceededError
from cascadeflow.budget import BudgetConfig
from cascadeflow.budget.money import fmt_usd, units_down, units_up, usd
from cascadeflow.budget.windows import window_key
from cascadeflow.errors import ConfigError


def test_budget_config_is_exact_decimal() -> None:
    config = BudgetConfig(daily=10.10, monthly="250", total=Decimal("0.1"))
    assert config.daily == Decimal("10.10") and config.monthly == 250 and config.hourly is None
    assert config.limits() == (("daily", Decimal("10.10")), ("monthly", Decimal(250)), ("total", Decimal("0.1")))


@pytest.mark.parametrize("kwargs", [{}, {"daily": -1}, {"daily": "ten"}, {"daily": float("nan")}, {"daily": True}])
def test_budget_config_rejects_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="BudgetConfig"):
        BudgetConfig(**kwargs)  # type: ignore[arg-type]


def test_units_round_towards_safety() -> None:
    assert units_up(Decimal("0.0000000001")) == 1  # charge: never less than the cost
    assert units_down(Decimal("0.9999999999")) == 999_999_999  # limit: never loosened
    assert usd(1_500_000_000) == Decimal("1.5")
    assert fmt_usd(Decimal("1.950000000")) == "1.95" and fmt_usd(usd(0)) == "0" and fmt_usd(Decimal(100)) == "100"


def test_window_keys_follow_the_calendar_in_the_time_zone() -> None:
    now = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)  # a Sunday; 01:30 in Berlin
    utc, berlin = ZoneInfo("UTC"), ZoneInfo("Europe/Berlin")
    assert window_key("hourly", now, utc) == "hourly:2025-03-30T00:00+00:00"
    assert window_key("daily", now, berlin) == "daily:2025-03-30T00:00+01:00"
    assert window_key("weekly", now, utc) == "weekly:2025-03-24T00:00+00:00"
    assert window_key("monthly", now, berlin) == "monthly:2025-03-01T00:00+01:00"
    assert window_key("total", now, berlin) == "total"
    # 03:30 CEST after the DST switch is a different hour key with its own offset.
    assert window_key("hourly", datetime(2025, 3, 30, 1, 30, tzinfo=UTC), berlin) == "hourly:2025-03-30T03:00+02:00"


def test_budget_error_names_user_window_spent_and_limit() -> None:
    err = BudgetExceededError("no", user_id="u", window="daily", spent=Decimal("1.5"), limit=Decimal(1))
    assert isinstance(err, CascadeFlowError)
    assert (err.user_id, err.window, err.spent, err.limit) == ("u", "daily", Decimal("1.5"), Decimal(1))
    rate = RateLimitExceededError("slow down", key="u", limit="10/minute", retry_after=2.5)
    assert isinstance(rate, CascadeFlowError) and rate.retry_after == 2.5
