"""Validator interface and its results.

A validator is any callable ``(request, draft, context) -> Verdict`` (sync or async). A :class:`Verdict`
carries a score in 0..1, whether the draft passed, the reasons, the per-check scores, and the name of the check
that decided, so every accept/escalate decision can be explained and audited.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from cascadeflow.types import Completion, CompletionRequest

if TYPE_CHECKING:
    from cascadeflow.providers.protocol import Provider


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's finding. ``applicable=False`` means the check had nothing to say (it is left out)."""

    name: str
    score: float
    reason: str
    applicable: bool = True


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of validating one draft."""

    score: float
    passed: bool
    reasons: tuple[str, ...] = ()
    checks: tuple[CheckResult, ...] = ()
    decided_by: str = ""
    threshold: float | None = None

    @property
    def scores(self) -> dict[str, float]:
        """Per-check scores by check name."""
        return {c.name: c.score for c in self.checks if c.applicable}

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    @property
    def vetoed(self) -> bool:
        """Rejected although the score alone reached the threshold: a veto (a check or validator) decided."""
        return not self.passed and self.threshold is not None and self.score >= self.threshold

    def rejection(self) -> str:
        """Why a rejected draft was rejected, naming what decided: the veto, or the score below the threshold
        (never "score 0.82 < 0.70" when the score was not what decided)."""
        check = self.decided_by or "quality"
        why = self.reason or "score too low"
        if self.threshold is None:
            return f"rejected by the {check} check ({why}; score {self.score:.2f})"
        if self.vetoed:
            return (f"vetoed by the {check} check ({why}; the score {self.score:.2f} alone would have passed "
                    f"the threshold {self.threshold:.2f})")
        return f"rejected by the {check} check ({why}; score {self.score:.2f} < {self.threshold:.2f})"


@dataclass(frozen=True, slots=True)
class ValidationContext:
    """What a validator may know besides the request and the draft.

    ``previous`` holds earlier tiers' drafts of this same request (for agreement strategies) and
    ``previous_models`` the configured tier names that wrote them, in the same order — use these to tell drafts
    apart, not ``Completion.model``, which is whatever the backend reported (a dated variant, a router's pick).
    ``next_provider`` is the next tier's provider (for verify-by-scoring, P(True)); ``provider`` this tier's own
    (for self-consistency samples); ``threshold`` is the acceptance threshold that applies.
    """

    complexity: str = "moderate"
    threshold: float = 0.7
    tier_index: int = 0
    tier_count: int = 1
    model: str = ""
    previous: tuple[Completion, ...] = ()
    previous_models: tuple[str, ...] = ()
    next_provider: Provider | None = None
    provider: Provider | None = None


class Validator(Protocol):
    """Anything that can judge a draft."""

    def __call__(
        self, request: CompletionRequest, draft: Completion, context: ValidationContext
    ) -> Verdict | Awaitable[Verdict]: ...


def previous_drafts(context: ValidationContext) -> list[tuple[str, Completion]]:
    """``(tier name, draft)`` for every earlier draft; the backend-reported model name stands in for the tier
    name only when a hand-built context has no ``previous_models``."""
    if len(context.previous_models) == len(context.previous):
        return list(zip(context.previous_models, context.previous, strict=True))
    return [(c.model, c) for c in context.previous]
