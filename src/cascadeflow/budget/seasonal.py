"""A small trend × weekly-season model of daily spending, in pure Python (no numpy needed).

Classical decomposition: a straight-line trend fitted by least squares, a factor per weekday (multiplicative
when every day has spending, additive otherwise), refined twice. It needs only the costs, so it works for any
model, provider or user. Points can be left out of the fit (``skip``) to keep spikes from bending it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection, Sequence
from dataclasses import dataclass

WEEK = 7
REFINE_ROUNDS = 2
MIN_SEASONAL_DAYS = 2 * WEEK
MAD_SCALE = 0.6745  # median absolute deviation of a standard normal: makes MAD scores read like z-scores
MEAN_ABS_SCALE = math.sqrt(math.pi / 2)  # mean absolute deviation → standard deviation, for a normal


@dataclass(frozen=True, slots=True)
class SeasonalFit:
    intercept: float
    slope: float
    season: tuple[float, ...]  # by position modulo 7 from the first day
    multiplicative: bool
    n: int

    def at(self, t: int) -> float:
        base = max(0.0, self.intercept + self.slope * t)
        factor = self.season[t % WEEK]
        return base * factor if self.multiplicative else max(0.0, base + factor)

    def residual(self, t: int, value: float) -> float:
        """Log ratio (multiplicative) or difference (additive) between an observation and the fit."""
        fitted = self.at(t)
        if self.multiplicative:
            return math.log(value / fitted) if value > 0 and fitted > 0 else 0.0
        return value - fitted


def _line(ts: Sequence[int], ys: Sequence[float]) -> tuple[float, float]:
    if len(ts) < 2:
        return (ys[0] if ys else 0.0), 0.0
    t_mean, y_mean = statistics.fmean(ts), statistics.fmean(ys)
    sxx = sum((t - t_mean) ** 2 for t in ts)
    slope = sum((t - t_mean) * (y - y_mean) for t, y in zip(ts, ys, strict=True)) / sxx if sxx else 0.0
    return y_mean - slope * t_mean, slope


def fit(values: Sequence[float], skip: Collection[int] = ()) -> SeasonalFit:
    """Fit trend and weekly season; with under two weeks of data, a flat level (no season, no trend)."""
    kept = [t for t in range(len(values)) if t not in skip] or list(range(len(values)))
    if len(values) < MIN_SEASONAL_DAYS:
        recent = [values[t] for t in kept][-WEEK:] or [0.0]
        return SeasonalFit(statistics.fmean(recent), 0.0, (1.0,) * WEEK, True, len(values))
    multiplicative = all(values[t] > 0 for t in kept)
    season = [1.0 if multiplicative else 0.0] * WEEK
    intercept, slope = 0.0, 0.0
    for _ in range(REFINE_ROUNDS + 1):
        adjusted = [values[t] / season[t % WEEK] if multiplicative else values[t] - season[t % WEEK] for t in kept]
        intercept, slope = _line(kept, adjusted)
        season = _season(values, kept, intercept, slope, multiplicative)
    return SeasonalFit(intercept, slope, tuple(season), multiplicative, len(values))


def _season(
    values: Sequence[float], kept: Sequence[int], intercept: float, slope: float, multiplicative: bool
) -> list[float]:
    by_day: list[list[float]] = [[] for _ in range(WEEK)]
    for t in kept:
        trend = intercept + slope * t
        if multiplicative:
            if trend > 0:
                by_day[t % WEEK].append(values[t] / trend)
        else:
            by_day[t % WEEK].append(values[t] - trend)
    neutral = 1.0 if multiplicative else 0.0
    raw = [statistics.median(d) if d else neutral for d in by_day]  # median: one spike cannot move a weekday
    centre = statistics.fmean(raw)
    if multiplicative:
        return [r / centre for r in raw] if centre > 0 else [1.0] * WEEK
    return [r - centre for r in raw]


def robust_scores(residuals: Sequence[float]) -> list[float]:
    """Modified z-scores (median / MAD): a few wild points cannot hide themselves by inflating the spread."""
    if not residuals:
        return []
    median = statistics.median(residuals)
    mad = statistics.median(abs(r - median) for r in residuals)
    if mad == 0:
        spread = statistics.fmean(abs(r - median) for r in residuals)
        if spread == 0:
            return [0.0] * len(residuals)
        return [(r - median) / (MEAN_ABS_SCALE * spread) for r in residuals]
    return [MAD_SCALE * (r - median) / mad for r in residuals]
