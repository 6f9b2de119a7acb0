"""Forecast daily spending (per user or overall) with a prediction interval, from the settled history."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from cascadeflow.budget import seasonal
from cascadeflow.errors import ConfigError

HISTORY_DAYS = 8 * seasonal.WEEK  # recent enough to follow a trend change, long enough for 8 samples per weekday
INTERVAL_Z = 1.645  # two-sided 90% interval of a normal
_QUANTUM = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class ForecastPoint:
    """Expected USD for one day, and a 90% interval around it."""

    day: date
    expected: Decimal
    low: Decimal
    high: Decimal


def forecast_daily(
    series: Mapping[date, Decimal], days: int, *, history_days: int = HISTORY_DAYS, z: float = INTERVAL_Z
) -> list[ForecastPoint]:
    """The next ``days`` days after the series' last day. No history at all forecasts zero spending."""
    if days < 1:
        raise ConfigError("days", f"must be >= 1, got {days!r}")
    if not series:
        today = date.today()
        zero = Decimal(0)
        return [ForecastPoint(today + timedelta(days=h), zero, zero, zero) for h in range(1, days + 1)]
    ordered = sorted(series)
    last = ordered[-1]
    window = ordered[-history_days:]
    # Whole weeks only, so every weekday weighs the same in the trend.
    if len(window) >= seasonal.MIN_SEASONAL_DAYS:
        window = window[len(window) % seasonal.WEEK :]
    values = [float(series[d]) for d in window]
    model = seasonal.fit(values)
    spread = _spread(model, values)
    n = len(values)
    out: list[ForecastPoint] = []
    for h in range(1, days + 1):
        t = n - 1 + h
        centre = model.at(t)
        width = z * spread * math.sqrt(1 + h / n)
        if model.multiplicative:
            low, high = centre * math.exp(-width), centre * math.exp(width)
        else:
            low, high = max(0.0, centre - width), centre + width
        out.append(ForecastPoint(last + timedelta(days=h), _usd(centre), _usd(low), _usd(high)))
    return out


def _spread(model: seasonal.SeasonalFit, values: list[float]) -> float:
    residuals = [model.residual(t, v) for t, v in enumerate(values)]
    if len(residuals) < 2:
        return 0.0 if model.multiplicative else abs(values[0]) if values else 0.0
    return statistics.stdev(residuals)


def _usd(value: float) -> Decimal:
    return Decimal(repr(max(0.0, value))).quantize(_QUANTUM)
