"""Confidence from the model's own token log-probabilities, only when the provider really returned them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.cascade.quality.checks.registry import CheckSpec
from cascadeflow.errors import ConfigError
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_number

NAME: Final = "confidence"
_NO_LOGPROBS: Final = CheckResult(NAME, 1.0, "no logprobs returned", applicable=False)


@dataclass(frozen=True)
class ConfidenceSettings:
    """How token log-probabilities map onto a confidence score, each bound with its reason."""

    mean_floor: float = -2.5
    """Mean token logprob at or below which confidence is 0 (the average token had <8% probability)."""
    mean_ceiling: float = -0.3
    """Mean token logprob at or above which confidence is 1 (the average token had >74% probability)."""
    min_floor: float = -9.0
    """Weakest-token logprob at or below which that token is treated as a likely guess (p ~ 0.01%)."""
    min_ceiling: float = -2.5
    """Weakest-token logprob at or above which no single token raises doubt (p >= 8%)."""
    min_weight: float = 0.3
    """Share of the confidence score that comes from the weakest token; the mean carries the rest."""

    def __post_init__(self) -> None:
        check_number("ConfidenceSettings.min_weight", self.min_weight, hi=1.0)
        for kind in ("mean", "min"):
            floor, ceiling = getattr(self, f"{kind}_floor"), getattr(self, f"{kind}_ceiling")
            check_number(f"ConfidenceSettings.{kind}_floor", floor, lo=-math.inf, hi=0.0)
            check_number(f"ConfidenceSettings.{kind}_ceiling", ceiling, lo=-math.inf, hi=0.0)
            if floor >= ceiling:
                raise ConfigError(f"ConfidenceSettings.{kind}_floor", f"must be below the ceiling {ceiling}")


def _scale(value: float, floor: float, ceiling: float) -> float:
    """Map ``value`` linearly from [floor, ceiling] onto [0, 1], clamped."""
    if value <= floor:
        return 0.0
    if value >= ceiling:
        return 1.0
    return (value - floor) / (ceiling - floor)


def check_confidence(
    request: CompletionRequest, draft: Completion, context: ValidationContext, settings: ConfidenceSettings
) -> CheckResult:
    """Blend the mean and the weakest token logprob; never invent a score when logprobs are absent."""
    logprobs = draft.logprobs
    if not logprobs:
        return _NO_LOGPROBS
    values = [t.logprob for t in logprobs]
    mean = sum(values) / len(values)
    weakest = min(values)
    mean_score = _scale(mean, settings.mean_floor, settings.mean_ceiling)
    min_score = _scale(weakest, settings.min_floor, settings.min_ceiling)
    w = settings.min_weight
    score = (1.0 - w) * mean_score + w * min_score
    return CheckResult(
        NAME, score, f"confidence: mean token logprob {mean:.2f}, weakest {weakest:.2f} over {len(values)} tokens"
    )


SPEC: Final = CheckSpec(
    name=NAME,
    run=check_confidence,
    settings=ConfidenceSettings,
    weight=1.5,  # token confidence, present only when the provider returns logprobs
    order=70,
)
