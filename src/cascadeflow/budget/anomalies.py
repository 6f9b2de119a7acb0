"""Flag anomalous spending: days that break a user's own pattern, users far above their peers.

Model-agnostic like the forecast: only daily costs are looked at. Scores are robust z-scores (median/MAD), so a
handful of spikes cannot raise the bar that would catch them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from cascadeflow.budget import seasonal

THRESHOLD = 5.0  # robust z beyond which a day or user is flagged: well past the 3.5 rule of thumb, since
# residuals of a fitted model are a little tighter than the noise and an alert that cries wolf gets muted
MIN_DAYS = 2 * seasonal.WEEK  # a user's own pattern needs two weeks before a day can break it
MIN_USERS = 5  # comparing users needs a crowd
RECENT_DAYS = seasonal.WEEK


@dataclass(frozen=True, slots=True)
class Anomaly:
    """``kind="day"``: one user's day vs their pattern; ``kind="user"``: a user's last week vs other users."""

    kind: Literal["day", "user"]
    user_id: str
    day: date | None
    value: Decimal
    expected: Decimal
    score: float


def find_anomalies(
    series_by_user: Mapping[str, Mapping[date, Decimal]], *, threshold: float = THRESHOLD
) -> list[Anomaly]:
    found: list[Anomaly] = []
    for user, series in sorted(series_by_user.items()):
        found.extend(_days(user, series, threshold))
    found.extend(_users(series_by_user, threshold))
    return found


def _days(user: str, series: Mapping[date, Decimal], threshold: float) -> list[Anomaly]:
    days = sorted(series)
    if len(days) < MIN_DAYS:
        return []
    values = [float(series[d]) for d in days]
    model = seasonal.fit(values)
    scores = seasonal.robust_scores([model.residual(t, v) for t, v in enumerate(values)])
    # Refit without the outliers so a spike does not bend the trend it is measured against.
    outliers = {t for t, s in enumerate(scores) if abs(s) > threshold}
    if outliers:
        model = seasonal.fit(values, skip=outliers)
        scores = seasonal.robust_scores([model.residual(t, v) for t, v in enumerate(values)])
    return [
        Anomaly("day", user, days[t], series[days[t]], _usd(model.at(t)), score)
        for t, score in enumerate(scores)
        if abs(score) > threshold
    ]


def _users(series_by_user: Mapping[str, Mapping[date, Decimal]], threshold: float) -> list[Anomaly]:
    if len(series_by_user) < MIN_USERS:
        return []
    last_day = max((max(s) for s in series_by_user.values() if s), default=None)
    if last_day is None:
        return []
    recent: dict[str, Decimal] = {
        user: sum((v for d, v in s.items() if (last_day - d).days < RECENT_DAYS), Decimal(0))
        for user, s in series_by_user.items()
    }
    users = sorted(recent)
    logs = [math.log1p(float(recent[u])) for u in users]
    scores = seasonal.robust_scores(logs)
    typical = _usd(math.expm1(sorted(logs)[len(logs) // 2]))
    return [
        Anomaly("user", user, None, recent[user], typical, score)
        for user, score in zip(users, scores, strict=True)
        if score > threshold
    ]


def _usd(value: float) -> Decimal:
    return Decimal(repr(max(0.0, value))).quantize(Decimal("0.000001"))
