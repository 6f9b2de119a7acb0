"""Metric definitions on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cascadeflow.bench.baselines import baselines
from cascadeflow.bench.metrics import CurvePoint, apgr, auroc, cost_at_quality, cpt, curve_summary, pgr, ratio


def test_auroc_matches_pair_counting_with_ties() -> None:
    scores = [0.9, 0.8, 0.8, 0.3, 0.1]
    labels = [True, True, False, False, True]
    # positive vs negative pairs: 0.9 beats both (2), 0.8 ties one and beats one (1.5), 0.1 beats none: 3.5 of 6
    assert auroc(scores, labels) == pytest.approx(3.5 / 6)
    assert auroc([1, 2, 3], [False, False, True]) == 1.0
    assert auroc([1, 2], [True, True]) is None
    assert auroc([float("nan"), 0.2, 0.9], [True, False, True]) == 1.0  # NaN = signal absent, left out


def _point(rate: float, accuracy: float, cost_ratio: float = 0.0, quality: float = 0.0) -> CurvePoint:
    return CurvePoint(0.0, accuracy, 0.0, rate, quality, cost_ratio)


def test_apgr_of_random_routing_is_one_half_and_perfect_is_more() -> None:
    weak, top = 0.6, 0.9
    diagonal = [_point(x, weak + x * (top - weak)) for x in np.linspace(0, 1, 11)]
    assert apgr(diagonal, weak, top) == pytest.approx(0.5)
    perfect = [_point(0.0, weak), _point(0.3, top), _point(1.0, top)]
    assert apgr(perfect, weak, top) == pytest.approx(0.85)
    assert apgr([], weak, top) is None
    assert pgr(0.75, weak, top) == pytest.approx(0.5) and pgr(0.7, 0.7, 0.7) is None


def test_cpt_and_cost_at_quality() -> None:
    weak, top = 0.5, 1.0
    points = [_point(0.0, 0.5), _point(0.2, 0.8), _point(0.4, 0.95), _point(1.0, 1.0)]
    assert cpt(points, weak, top, 0.5) == 0.2
    assert cpt(points, weak, top, 0.8) == 0.4
    assert cpt(points[:2], weak, top, 0.8) is None
    costs = [_point(0, 0, 0.2, 0.9), _point(0, 0, 0.3, 0.96), _point(0, 0, 0.5, 0.99)]
    assert cost_at_quality(costs) == 0.3 and cost_at_quality(costs, 0.999) is None
    summary = curve_summary(points, weak, top)
    assert set(summary) == {"apgr", "cpt50", "cpt80", "cost_at_95"}
    assert ratio(1, 0) is None and ratio(1, 4) == 0.25


def test_baselines() -> None:
    cost = np.array([[1.0, 10.0], [1.0, 10.0], [2.0, 20.0], [1.0, 10.0]])
    correct = np.array([[1, 1], [0, 1], [0, 0], [1, 0]], dtype=float)
    b = baselines(cost, correct, top_rate=0.5)
    assert b["always_top"].quality_ratio == 1.0 and b["always_top"].cost_ratio == 1.0
    assert b["always_cheapest"].accuracy == 0.5 and b["always_cheapest"].cost_ratio == pytest.approx(5 / 50)
    assert b["random"].accuracy == pytest.approx(0.5) and b["random"].cost == pytest.approx(0.5 * 5 + 0.5 * 50)
    # oracle: cheapest right tier; prompt 3 (nobody right) falls back to the first tier
    assert b["oracle"].accuracy == 0.75 and b["oracle"].cost == pytest.approx(1 + 10 + 2 + 1)
    assert math.isclose(b["oracle"].quality_ratio, 0.75 / 0.5)


def test_baselines_do_not_assume_the_first_tier_is_the_cheapest() -> None:
    # Tier order strong-first (tier_order: given): tier 0 costs 3, tier 1 costs 1, top costs 10.
    cost = np.array([[3.0, 1.0, 10.0], [3.0, 1.0, 10.0], [3.0, 1.0, 10.0]])
    correct = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 1]], dtype=float)
    b = baselines(cost, correct, top_rate=0.0)
    assert b["always_cheapest"].cost == 3.0 and b["always_cheapest"].accuracy == pytest.approx(1 / 3)
    assert b["oracle"].cost == pytest.approx(1 + 3 + 10)  # per prompt the cheapest *correct* tier
    assert b["random"].cost == 9.0  # the random router's weak side is the cascade's entry tier
    assert b["always_first"].cost == 9.0 and b["always_first"].accuracy == pytest.approx(2 / 3)
    assert "always_first" not in baselines(cost[:, 1:], correct[:, 1:], top_rate=0.0)  # first is the cheapest
