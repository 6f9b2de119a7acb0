"""The adaptive validator: a cheap tier's judge while shadow calibration runs.

It computes the draft's features (what :class:`~cascadeflow.cascade.quality.learned.LearnedScorer` reads: the
draft's own evidence, its agreement with earlier drafts, the rule checks' scores — not its length), lets the
fitted scorer decide when the learned policy is in force for this tier, else the tier's configured validator,
and notes the draft in the run's scratch so that the shadow agent can record it after the run. The rule checks
keep their veto either way: a broken draft is never kept.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext, Validator, Verdict, previous_drafts
from cascadeflow.cascade.quality.learned import SHAPE_FEATURES, LearnedScorer
from cascadeflow.shadow.policy import FittedPolicy
from cascadeflow.types import Completion, CompletionRequest

NAME: Final = "shadow"


@dataclass(slots=True)
class Noted:
    """One judged draft of the current run, before its label is known."""

    tier: str
    answer: str
    features: dict[str, float]
    score: float | None
    accepted: bool


@dataclass(slots=True)
class RunScratch:
    """What the validators of one run noted (held in a context variable for the run's duration)."""

    drafts: list[Noted] = field(default_factory=list)


SCRATCH: contextvars.ContextVar[RunScratch | None] = contextvars.ContextVar("cascadeflow_shadow_run", default=None)


def features_of(request: CompletionRequest, draft: Completion, context: ValidationContext,
                checks: dict[str, float]) -> dict[str, float]:
    """The features a shadow scorer reads for this draft (peers: the tiers that drafted before it)."""
    previous = previous_drafts(context)
    reader = LearnedScorer({}, 0.0, tuple(t for t, _ in previous), "auto", True)
    out = reader.features(request.query, draft.content, [(t, c.content) for t, c in previous], checks)
    return {k: v for k, v in out.items() if k not in SHAPE_FEATURES}


async def _judge(validator: Validator, request: CompletionRequest, draft: Completion,
                 context: ValidationContext) -> Verdict:
    outcome = validator(request, draft, context)
    return outcome if isinstance(outcome, Verdict) else await outcome


class AdaptiveValidator:
    """``fallback`` (the tier's configured validator) decides until ``policy()`` holds an active fitted tier."""

    __slots__ = ("fallback", "policy", "rules")

    def __init__(self, policy: Callable[[], FittedPolicy], fallback: Validator, rules: Validator) -> None:
        self.policy = policy
        self.fallback = fallback
        self.rules = rules

    async def __call__(self, request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        rules = await _judge(self.rules, request, draft, context)
        features = features_of(request, draft, context, dict(rules.scores))
        policy = self.policy()
        tier = policy.tiers.get(context.model) if policy.active else None
        if tier is None:
            verdict = await _judge(self.fallback, request, draft, context)
            score = None
        else:
            keeps, score = tier.keeps(features)
            verdict = _fitted_verdict(keeps and rules.passed, score, tier.threshold, rules)
        scratch = SCRATCH.get()
        if scratch is not None:
            scratch.drafts.append(Noted(context.model, draft.content, features, score, verdict.passed))
        return verdict


def _fitted_verdict(passed: bool, score: float, threshold: float, rules: Verdict) -> Verdict:
    if not rules.passed:
        return rules
    shown = "never" if threshold == float("inf") else f"{threshold:.2f}"
    reason = f"shadow-calibrated: P(agrees with the top tier) {score:.2f} {'>=' if passed else '<'} {shown}"
    return Verdict(score, passed, (reason,), (CheckResult(NAME, score, reason), *rules.checks), NAME,
                   None if threshold == float("inf") else threshold)
