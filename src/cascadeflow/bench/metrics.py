"""Cost/quality metrics of routers and cascades (numpy only).

Definitions (RouteLLM's, generalised to N tiers; "weak" = every prompt answered by the first tier, "top" =
every prompt answered by the top model):

* ``quality_ratio`` = accuracy / top accuracy; ``cost_ratio`` = cost / top cost (same prompts).
* PGR (performance gap recovered) = (accuracy − weak accuracy) / (top accuracy − weak accuracy).
* ``apgr`` = area under PGR plotted against the fraction of prompts that reach the top model (0..1), from a
  threshold sweep. A random router scores 0.5; higher is better.
* ``cpt50`` / ``cpt80`` = the smallest top-model call rate reaching 50% / 80% PGR (lower is better).
* ``cost_at_95`` = the smallest cost ratio whose quality ratio is at least 0.95.
* ``auroc`` = probability that a random correct draft scores above a random wrong one (ties count half).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

QUALITY_FOR_COST: Final = 0.95  # cost_at_95: the "almost as good as the top model" operating point
PGR_LEVELS: Final = (0.5, 0.8)  # CPT(50%) and CPT(80%), as reported by RouteLLM


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One operating point of a threshold sweep."""

    threshold: float
    accuracy: float
    cost: float
    top_rate: float
    quality_ratio: float
    cost_ratio: float

    def to_dict(self) -> dict[str, Any]:
        threshold: float | str = self.threshold if np.isfinite(self.threshold) else str(self.threshold)
        return {
            "threshold": threshold, "accuracy": round(self.accuracy, 5), "cost": round(self.cost, 6),
            "top_rate": round(self.top_rate, 5), "quality_ratio": round(self.quality_ratio, 5),
            "cost_ratio": round(self.cost_ratio, 5),
        }


def ratio(part: float, whole: float) -> float | None:
    """part / whole, or None when the whole is zero (no meaningful ratio)."""
    return part / whole if whole else None


def auroc(scores: Sequence[float] | np.ndarray, labels: Sequence[bool] | np.ndarray) -> float | None:
    """Area under the ROC curve via average ranks (Mann–Whitney U); None with only one class present."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    keep = ~np.isnan(s)
    s, y = s[keep], y[keep]
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_scores = s[order]
    i = 0
    while i < len(s):  # average rank over each run of tied scores
        j = i
        while j + 1 < len(s) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    u = ranks[y].sum() - positives * (positives + 1) / 2.0
    return float(u / (positives * negatives))


def pgr(accuracy: float, weak_accuracy: float, top_accuracy: float) -> float | None:
    gap = top_accuracy - weak_accuracy
    return (accuracy - weak_accuracy) / gap if gap else None


def _pgr_curve(points: Sequence[CurvePoint], weak: float, top: float) -> tuple[np.ndarray, np.ndarray] | None:
    if not points or top == weak:
        return None
    xs = np.array([p.top_rate for p in points])
    ys = np.array([(p.accuracy - weak) / (top - weak) for p in points])
    order = np.argsort(xs, kind="mergesort")
    xs, ys = xs[order], ys[order]
    unique_x = np.unique(xs)
    best_y = np.array([ys[xs == x].max() for x in unique_x])  # one point per call rate: its best threshold
    return unique_x, best_y


def apgr(points: Sequence[CurvePoint], weak_accuracy: float, top_accuracy: float) -> float | None:
    """Area under PGR vs top-model call rate over [0, 1]; the endpoints (0, 0) and (1, 1) are implied."""
    curve = _pgr_curve(points, weak_accuracy, top_accuracy)
    if curve is None:
        return None
    xs, ys = curve
    if xs[0] > 0:
        xs, ys = np.concatenate([[0.0], xs]), np.concatenate([[0.0], ys])
    if xs[-1] < 1:
        xs, ys = np.concatenate([xs, [1.0]]), np.concatenate([ys, [1.0]])
    return float(np.sum((xs[1:] - xs[:-1]) * (ys[1:] + ys[:-1]) / 2.0))


def cpt(points: Sequence[CurvePoint], weak_accuracy: float, top_accuracy: float, level: float) -> float | None:
    """Smallest top-model call rate whose PGR reaches ``level`` (None if no point does)."""
    curve = _pgr_curve(points, weak_accuracy, top_accuracy)
    if curve is None:
        return None
    xs, ys = curve
    hits = xs[ys >= level]
    return float(hits.min()) if hits.size else None


def cost_at_quality(points: Sequence[CurvePoint], level: float = QUALITY_FOR_COST) -> float | None:
    """Smallest cost ratio among points with a quality ratio of at least ``level``."""
    costs = [p.cost_ratio for p in points if p.quality_ratio >= level]
    return min(costs) if costs else None


def curve_summary(points: Sequence[CurvePoint], weak_accuracy: float, top_accuracy: float) -> dict[str, Any]:
    """apgr, cpt50, cpt80 and cost_at_95 of one sweep."""
    low, high = PGR_LEVELS
    return {
        "apgr": _round(apgr(points, weak_accuracy, top_accuracy)),
        "cpt50": _round(cpt(points, weak_accuracy, top_accuracy, low)),
        "cpt80": _round(cpt(points, weak_accuracy, top_accuracy, high)),
        "cost_at_95": _round(cost_at_quality(points)),
    }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)
