"""Confidence from the model's own token log-probabilities, only when the provider really returned them."""

from __future__ import annotations

from typing import Final

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.config import CheckSettings
from cascadeflow.types import Completion, CompletionRequest

NAME: Final = "confidence"
_NO_LOGPROBS: Final = CheckResult(NAME, 1.0, "no logprobs returned", applicable=False)


def _scale(value: float, floor: float, ceiling: float) -> float:
    """Map ``value`` linearly from [floor, ceiling] onto [0, 1], clamped."""
    if value <= floor:
        return 0.0
    if value >= ceiling:
        return 1.0
    return (value - floor) / (ceiling - floor)


def check_confidence(
    request: CompletionRequest, draft: Completion, context: ValidationContext, settings: CheckSettings
) -> CheckResult:
    """Blend the mean and the weakest token logprob; never invent a score when logprobs are absent."""
    logprobs = draft.logprobs
    if not logprobs:
        return _NO_LOGPROBS
    values = [t.logprob for t in logprobs]
    mean = sum(values) / len(values)
    weakest = min(values)
    mean_score = _scale(mean, settings.logprob_mean_floor, settings.logprob_mean_ceiling)
    min_score = _scale(weakest, settings.logprob_min_floor, settings.logprob_min_ceiling)
    w = settings.logprob_min_weight
    score = (1.0 - w) * mean_score + w * min_score
    return CheckResult(
        NAME, score, f"confidence: mean token logprob {mean:.2f}, weakest {weakest:.2f} over {len(values)} tokens"
    )
