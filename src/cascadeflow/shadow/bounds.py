"""Confidence bounds for risk control: exact binomial (Clopper-Pearson) bounds and the quality-ratio bound
built from them, in pure Python (the runtime's shadow calibration has no numpy or scipy).

A plan "holds quality Q" when its accuracy is at least Q times the top model's. On n labelled prompts, count
``losses`` (the plan wrong where the top model is right) and ``gains`` (the reverse); then
``quality = 1 - (losses - gains) / top_right``. A lower confidence bound replaces the loss rate by its upper
bound and the gain rate by its lower bound (each at ``delta / 2``: a union bound, so both hold together with
probability >= 1 - delta). The top model's accuracy enters as measured: its relative error (~2% on a few hundred
prompts) only scales the loss term, which is itself a few points. Choosing thresholds whose bound clears Q —
instead of a point estimate plus a fixed margin — is the risk-control recipe of Learn-then-Test (Angelopoulos et
al., 2021) and conformal risk control: the margin a plan needs comes from how much data backs it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

_EPS: Final = 1e-12
_MAX_ITERATIONS: Final = 300
_BISECTIONS: Final = 60  # 2**-60: far below any rate that matters


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _EPS else _EPS)
    h = d
    for m in range(1, _MAX_ITERATIONS + 1):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > _EPS else _EPS)
            c = 1.0 + aa / c
            c = c if abs(c) > _EPS else _EPS
            h *= d * c
        if abs(d * c - 1.0) < 3e-16:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def binomial_upper(k: int, n: int, delta: float) -> float:
    """Clopper-Pearson upper bound: the largest rate p with P(X <= k | n, p) >= delta."""
    if n <= 0 or k >= n:
        return 1.0
    lo, hi = k / n, 1.0
    for _ in range(_BISECTIONS):  # P(X <= k) = I_{1-p}(n - k, k + 1) falls as p grows
        mid = (lo + hi) / 2
        if betainc(n - k, k + 1, 1.0 - mid) > delta:
            lo = mid
        else:
            hi = mid
    return hi


def binomial_lower(k: int, n: int, delta: float) -> float:
    """Clopper-Pearson lower bound: the smallest rate p with P(X >= k | n, p) >= delta."""
    if n <= 0 or k <= 0:
        return 0.0
    return 1.0 - binomial_upper(n - k, n, delta)


@dataclass(frozen=True, slots=True)
class QualityBound:
    """A lower confidence bound on a plan's quality ratio, with what it was computed from."""

    quality: float
    """Point estimate: 1 - (losses - gains) / top_right."""
    lower: float
    """Holds with probability >= 1 - delta (for prompts drawn like these)."""
    delta: float
    prompts: int

    def to_dict(self) -> dict[str, float | int]:
        return {"quality_ratio": round(self.quality, 4), "quality_lower_bound": round(self.lower, 4),
                "delta": self.delta, "prompts": self.prompts}


def quality_bound(losses: int, gains: int, top_right: int, n: int, delta: float) -> QualityBound:
    """Lower bound on ``accuracy / top accuracy`` from counts on ``n`` prompts (see the module docstring)."""
    if n <= 0 or top_right <= 0:
        return QualityBound(0.0, 0.0, delta, n)
    half = delta / 2.0
    point = 1.0 - (losses - gains) / top_right
    net = binomial_upper(losses, n, half) - binomial_lower(gains, n, half)
    return QualityBound(point, 1.0 - net * n / top_right, delta, n)
