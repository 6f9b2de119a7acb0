"""Threshold sweeps: for one accept/reject signal, the cost/quality curve of the cascade as its threshold moves.

The probe run recorded every tier's draft score under every signal, so each threshold is simulated exactly as
the engine would walk the tiers (stop at the first tier whose score reaches the threshold, pay for every tier
visited) by :mod:`cascadeflow.calibrate.thresholds`, the same code calibration uses. One shared threshold
applies to every tier below the top; a signal that is undefined for a tier (agreement on the first draft)
never accepts there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from cascadeflow.bench.metrics import CurvePoint, auroc, curve_summary
from cascadeflow.calibrate.thresholds import Matrices, simulate
from cascadeflow.providers.replay import RecordedPrompt

SWEEP_POINTS: Final = 60
"""Thresholds per sweep (score quantiles): enough for smooth curves and stable areas on ~1,000 prompts."""


def outcome_matrices(records: Sequence[RecordedPrompt], tiers: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Recorded cost (USD) and correctness (0/1), prompts × tiers."""
    cost = np.array([[r.answers[t].cost_usd for t in tiers] for r in records], dtype=float)
    correct = np.array([[bool(r.answers[t].correct) for t in tiers] for r in records], dtype=float)
    return cost, correct


def signal_matrix(
    records: Sequence[RecordedPrompt], tiers: Sequence[str], table: Mapping[tuple[str, str], Mapping[str, float]],
    signal: str,
) -> np.ndarray:
    """Scores of one signal, prompts × cheap tiers, NaN where the signal did not apply."""
    out = np.full((len(records), len(tiers) - 1), np.nan)
    for n, record in enumerate(records):
        for i, tier in enumerate(tiers[:-1]):
            value = table.get((record.prompt, tier), {}).get(signal)
            if value is not None:
                out[n, i] = value
    return out


def signal_names(table: Mapping[tuple[str, str], Mapping[str, float]]) -> list[str]:
    names: set[str] = set()
    for scores in table.values():
        names.update(scores)
    first = [n for n in ("config", "learned", "agreement", "selftest", "rule") if n in names]
    return first + sorted(names - set(first))


def sweep(scores: np.ndarray, cost: np.ndarray, correct: np.ndarray) -> list[CurvePoint]:
    """The curve of one signal: one point per threshold, from "accept every draft" to "accept none"."""
    defined = scores[~np.isnan(scores)]
    inner = np.unique(np.quantile(defined, np.linspace(0, 1, SWEEP_POINTS))) if defined.size else np.array([])
    thresholds = [-math.inf, *inner.tolist(), math.inf]
    mats = Matrices(scores=np.nan_to_num(scores, nan=-np.inf), cost=cost, correct=correct)
    everyone = np.arange(len(cost))
    k = scores.shape[1]
    points = []
    for t in thresholds:
        per_tier = [t] * k
        if t == -math.inf:  # accept every first draft: the weak end of the curve
            per_tier = [-math.inf] + [math.inf] * (k - 1)
        e = simulate(mats, per_tier, everyone)
        points.append(CurvePoint(t, e.accuracy, e.cost, e.top_rate, e.quality_ratio, e.cost_ratio))
    return points


def signal_report(
    records: Sequence[RecordedPrompt], tiers: Sequence[str], table: Mapping[tuple[str, str], Mapping[str, float]]
) -> dict[str, dict[str, Any]]:
    """apgr, cpt50, cpt80, cost_at_95 and auroc (pooled and per tier) of every recorded signal."""
    cost, correct = outcome_matrices(records, tiers)
    weak, top = float(correct[:, 0].mean()), float(correct[:, -1].mean())
    out: dict[str, dict[str, Any]] = {}
    for name in signal_names(table):
        scores = signal_matrix(records, tiers, table, name)
        points = sweep(scores, cost, correct)
        drafts = correct[:, :-1]
        pooled = auroc(scores.ravel(), drafts.ravel() > 0)
        per_tier = {tier: _r(auroc(scores[:, i], drafts[:, i] > 0)) for i, tier in enumerate(tiers[:-1])}
        out[name] = {
            **curve_summary(points, weak, top),
            "auroc": _r(pooled),
            "auroc_per_tier": per_tier,
            "curve": [p.to_dict() for p in points],
        }
    return out


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
