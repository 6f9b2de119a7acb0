"""Forecasts and anomaly flags on synthetic daily spending (any model: only costs are looked at)."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from cascadeflow.budget import CostTracker
from cascadeflow.budget.anomalies import find_anomalies
from cascadeflow.budget.forecast import forecast_daily
from cascadeflow.errors import ConfigError

START = date(2025, 1, 6)  # a Monday
WEEKLY = (1.2, 1.3, 1.25, 1.2, 1.1, 0.5, 0.45)


def series(days: int, seed: int, noise: float = 0.05, base: float = 20.0, slope: float = 0.15) -> dict[date, Decimal]:
    rng = random.Random(seed)
    out: dict[date, Decimal] = {}
    for t in range(days):
        value = (base + slope * t) * WEEKLY[t % 7] * (1 + rng.gauss(0, noise))
        out[START + timedelta(days=t)] = Decimal(repr(round(value, 6)))
    return out


def test_forecast_follows_trend_and_weekly_season() -> None:
    history = series(63, seed=1)
    truth = series(70, seed=1)
    points = forecast_daily(history, 7)
    assert [p.day for p in points] == [START + timedelta(days=63 + h) for h in range(7)]
    errors = [abs(float(p.expected) - float(truth[p.day])) / float(truth[p.day]) for p in points]
    assert sum(errors) / len(errors) < 0.10
    assert all(p.low <= p.expected <= p.high for p in points)
    assert points[5].expected < points[0].expected  # the weekend dip is forecast


def test_forecast_with_little_or_no_history() -> None:
    short = forecast_daily({START: Decimal(2), START + timedelta(days=1): Decimal(4)}, 2)
    assert [p.expected for p in short] == [Decimal(3), Decimal(3)]
    empty = forecast_daily({}, 3)
    assert len(empty) == 3 and all(p.expected == p.low == p.high == 0 for p in empty)
    with pytest.raises(ConfigError, match="days"):
        forecast_daily({}, 0)


def test_spiking_day_and_outlier_user_are_flagged() -> None:
    users = {f"user{i}": series(42, seed=i, base=5.0 + i) for i in range(6)}
    spike_day = START + timedelta(days=30)
    users["user2"][spike_day] *= 6
    users["whale"] = {d: v * 40 for d, v in series(42, seed=99).items()}
    found = find_anomalies(users)
    days = {(a.user_id, a.day) for a in found if a.kind == "day"}
    assert ("user2", spike_day) in days
    assert len(days) <= 3  # the rest of the history is ordinary
    assert {a.user_id for a in found if a.kind == "user"} == {"whale"}


def test_tracker_forecast_reads_the_ledger_in_its_time_zone() -> None:
    clock_days = iter(range(35))
    start = datetime(2025, 1, 6, 12, tzinfo=UTC)
    now = {"t": start}
    t = CostTracker(clock=lambda: now["t"], timezone="America/New_York")
    for i in clock_days:
        now["t"] = start + timedelta(days=i)
        cost = Decimal("1.00") * Decimal(repr(WEEKLY[i % 7]))
        t.commit(t.reserve("u", cost), cost)
    daily = t.daily_costs("u")
    assert len(daily) == 35 and math.isclose(float(daily[date(2025, 1, 6)]), 1.2)
    forecast = t.forecast("u", days=7)
    assert abs(float(forecast[0].expected) - 1.2) < 0.05
    assert t.anomalies() == []
