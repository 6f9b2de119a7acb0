"""Weighted L2 logistic regression in pure Python (Newton's method), for refitting scorers inside a serving
process that has no numpy or scikit-learn.

Features are standardised (weighted mean and spread) before fitting and the result is folded back into plain
weights, like :func:`cascadeflow.calibrate.fit.fit_scorer`, so the two produce interchangeable scorers. A few
dozen features and a few thousand rows fit in well under a second.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

from cascadeflow.errors import ConfigError

MAX_ITERATIONS: Final = 25
TOLERANCE: Final = 1e-6
_PIVOT: Final = 1e-12


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the system is small and positive definite)."""
    n = len(vector)
    a = [[*row, b] for row, b in zip(matrix, vector, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        if abs(a[col][col]) < _PIVOT:
            continue
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            if factor:
                for c in range(col, n + 1):
                    a[r][c] -= factor * a[col][c]
    out = [0.0] * n
    for r in range(n - 1, -1, -1):
        if abs(a[r][r]) < _PIVOT:
            continue
        out[r] = (a[r][n] - sum(a[r][c] * out[c] for c in range(r + 1, n))) / a[r][r]
    return out


def fit_logistic(
    rows: Sequence[Mapping[str, float]], labels: Sequence[bool], weights: Sequence[float] | None = None,
    *, l2: float = 1.0,
) -> tuple[dict[str, float], float]:
    """``(weights by feature, bias)`` of a logistic regression; ``l2`` penalises standardised weights (like
    scikit-learn's ``C = 1 / l2``). All-positive or all-negative labels give the weighted base rate."""
    if len(rows) != len(labels) or not rows or (weights is not None and len(weights) != len(rows)):
        raise ConfigError("shadow.rows", "need one label (and weight) per row, and at least one row")
    w = [1.0] * len(rows) if weights is None else [float(x) for x in weights]
    total = sum(w)
    rate = min(max(sum(wi for wi, y in zip(w, labels, strict=True) if y) / total, 1e-3), 1 - 1e-3)
    names = sorted({name for row in rows for name in row})
    mean = {n: sum(wi * row.get(n, 0.0) for wi, row in zip(w, rows, strict=True)) / total for n in names}
    spread = {n: math.sqrt(sum(wi * (row.get(n, 0.0) - mean[n]) ** 2 for wi, row in zip(w, rows, strict=True))
                           / total) for n in names}
    kept = [n for n in names if spread[n] > 0]
    if not kept or all(labels) or not any(labels):
        return {}, math.log(rate / (1 - rate))
    x = [[(row.get(n, 0.0) - mean[n]) / spread[n] for n in kept] + [1.0] for row in rows]
    beta = [0.0] * len(kept) + [math.log(rate / (1 - rate))]
    for _ in range(MAX_ITERATIONS):
        step = _newton_step(x, labels, w, beta, l2)
        beta = [b + s for b, s in zip(beta, step, strict=True)]
        if max(abs(s) for s in step) < TOLERANCE:
            break
    coef = {n: beta[i] / spread[n] for i, n in enumerate(kept)}
    bias = beta[-1] - sum(coef[n] * mean[n] for n in kept)
    return {n: c for n, c in coef.items() if c != 0.0}, bias


def _newton_step(x: list[list[float]], labels: Sequence[bool], w: Sequence[float], beta: list[float],
                 l2: float) -> list[float]:
    d = len(beta)
    gradient = [0.0] * d
    hessian = [[0.0] * d for _ in range(d)]
    for xi, yi, wi in zip(x, labels, w, strict=True):
        p = _sigmoid(sum(b * v for b, v in zip(beta, xi, strict=True)))
        g, h = wi * ((1.0 if yi else 0.0) - p), wi * p * (1.0 - p)
        for j in range(d):
            if xi[j]:
                gradient[j] += g * xi[j]
                hj = h * xi[j]
                row = hessian[j]
                for k in range(j, d):
                    row[k] += hj * xi[k]
    for j in range(d):
        for k in range(j):
            hessian[j][k] = hessian[k][j]
    for j in range(d - 1):  # the bias (last) is not penalised
        gradient[j] -= l2 * beta[j]
        hessian[j][j] += l2
    return _solve(hessian, gradient)
