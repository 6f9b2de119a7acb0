"""User validators (``QualityConfig.validators``): adapt whatever they return into a named check result.

A user validator may return a :class:`Verdict`, a score in 0..1 (passes at the context's threshold) or a
bool; sync or async. Each one must pass for the draft to be accepted.
"""

from __future__ import annotations

import math
from typing import Any

from cascadeflow.cascade.quality.base import CheckResult, Verdict
from cascadeflow.errors import ConfigError


def validator_name(validator: Any) -> str:
    """The validator's ``__name__`` (functions), else its wrapped function's or class's name."""
    name = getattr(validator, "__name__", None) or getattr(getattr(validator, "func", None), "__name__", None)
    return str(name or type(validator).__name__)


def user_check(name: str, result: object, threshold: float) -> tuple[CheckResult, bool]:
    """``(check result, passed)`` for one user validator's return value."""
    if isinstance(result, Verdict):
        score, passed = min(max(result.score, 0.0), 1.0), result.passed
        detail = result.reason or ("passed" if passed else "rejected")
    elif isinstance(result, bool):
        score, passed = (1.0 if result else 0.0), result
        detail = "passed" if passed else "rejected"
    elif isinstance(result, int | float) and not math.isnan(result):
        score = min(max(float(result), 0.0), 1.0)
        passed = score >= threshold
        detail = f"score {score:.2f} {'>=' if passed else '<'} threshold {threshold:.2f}"
    else:
        raise ConfigError(
            f"QualityConfig.validators[{name!r}]",
            f"must return a Verdict, a float in 0..1 or a bool, got {type(result).__name__}",
        )
    return CheckResult(name, score, f"{name}: {detail}"), passed
