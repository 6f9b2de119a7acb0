"""Fitting a :class:`~cascadeflow.cascade.quality.learned.LearnedScorer` from labelled outcomes (offline).

scikit-learn's logistic regression, imported only here; the result is plain JSON coefficients that the runtime
scorer evaluates without numpy or scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

from cascadeflow.cascade.quality.learned import LearnedScorer
from cascadeflow.errors import ConfigError

DEFAULT_REGULARIZATION: Final = 1.0
"""Inverse L2 strength (scikit-learn's ``C``) on standardised features: the default, which cross-validation
on the RouterBench files did not beat by more than noise."""


def fit_scorer(
    rows: Sequence[Mapping[str, float]],
    labels: Sequence[bool],
    *,
    peers: Sequence[str] = (),
    kind: str = "auto",
    checks: bool = False,
    regularization: float = DEFAULT_REGULARIZATION,
) -> LearnedScorer:
    """Train on feature rows and whether each draft was correct; standardisation is folded into the weights."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    if len(rows) != len(labels) or not rows:
        raise ConfigError("learned.rows", f"need as many labels as rows (> 0); got {len(rows)} and {len(labels)}")
    names = sorted({name for row in rows for name in row})
    x = np.array([[row.get(n, 0.0) for n in names] for row in rows], dtype=float)
    y = np.array([bool(v) for v in labels])
    rate = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
    mean, scale = x.mean(axis=0), x.std(axis=0)
    keep = scale > 0
    meta = {"trained_on": len(rows), "positive_rate": round(float(y.mean()), 4)}
    if not keep.any() or y.all() or not y.any():  # nothing to learn from: the base rate is the best estimate
        return LearnedScorer({}, math.log(rate / (1 - rate)), tuple(peers), kind, checks, meta)
    z = (x[:, keep] - mean[keep]) / scale[keep]
    # Newton-Cholesky: exact and fast for a few dozen features, and free of BLAS-thread oversubscription.
    model = LogisticRegression(C=regularization, solver="newton-cholesky", max_iter=200).fit(z, y)
    coef = model.coef_[0] / scale[keep]
    bias = float(model.intercept_[0] - np.sum(coef * mean[keep]))
    weights = {str(n): float(w) for n, w in zip(np.array(names)[keep], coef, strict=True) if w != 0.0}
    return LearnedScorer(weights, bias, tuple(peers), kind, checks, meta)
