"""The default judge of cheap tiers in chains of three or more: a checkable answer needs a second opinion.

With two tiers, an accepted draft costs the cheap model only (the quickstart's promise), so its judge is the
rule composite alone. A user who lists three or more tiers has asked for a middle tier, and the cheapest way to
know whether a cheap answer is right without labels is to ask another cheap model: two models that reach the
same answer independently are right far more often than either alone (RouterBench ARC + Winogrande: Mixtral
and Yi-34B agreeing are right 94% of the time, against 77% and 83% alone). So, for answers that can be compared
(an option of a multiple-choice question, the final number of a calculation):

* the first cheap draft is never kept on its own: it is escalated and kept as the reference;
* a later cheap draft is kept when it gives the same answer as an earlier draft that passed the rule checks;
* the rule checks still run first: a broken draft (vetoed) is neither kept nor a reference.

Answers that cannot be compared reliably (free text, code without running it) are judged by the rules alone, as
with two tiers. Opt out by passing ``validator=`` or ``tier_validators=`` to the agent.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import Final

from cascadeflow.cascade.quality.agreement import detect_kind, normalize_answer
from cascadeflow.cascade.quality.base import CheckResult, ValidationContext, Validator, Verdict, previous_drafts
from cascadeflow.errors import ConfigError
from cascadeflow.types import Completion, CompletionRequest

NAME: Final = "corroboration"
COMPARABLE_KINDS: Final = frozenset({"choice", "number"})


@dataclass(frozen=True)
class CorroborationSettings:
    """Which answers need a second opinion, and how many."""

    kinds: frozenset[str] = COMPARABLE_KINDS
    """Answer kinds compared across tiers (see :func:`~cascadeflow.cascade.quality.agreement.detect_kind`).
    Code is left out: compared by text, two correct functions almost never match (compare by behaviour with
    ``agreement: {execute: true}``, opt-in)."""
    min_agree: int = 1
    """Earlier drafts that must give the same answer."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - {"choice", "number", "code", "text"})
        if unknown:
            raise ConfigError("CorroborationSettings.kinds", f"unknown answer kind {unknown[0]!r}")
        if isinstance(self.min_agree, bool) or not isinstance(self.min_agree, int) or self.min_agree < 1:
            raise ConfigError("CorroborationSettings.min_agree", f"must be an integer >= 1, got {self.min_agree!r}")
        object.__setattr__(self, "kinds", frozenset(self.kinds))


class CorroborationValidator:
    """Rules first; for comparable answers, keep a draft only when an earlier sound draft agrees with it."""

    __slots__ = ("rules", "settings")

    def __init__(self, rules: Validator, settings: CorroborationSettings | None = None) -> None:
        self.rules = rules
        self.settings = settings or CorroborationSettings()

    async def _judge(self, validator: Validator, request: CompletionRequest, draft: Completion,
                     context: ValidationContext) -> Verdict:
        outcome = validator(request, draft, context)
        return outcome if isinstance(outcome, Verdict) else await outcome

    def __call__(
        self, request: CompletionRequest, draft: Completion, context: ValidationContext
    ) -> Verdict | Awaitable[Verdict]:
        return self._decide(request, draft, context)

    async def _decide(self, request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        rules = await self._judge(self.rules, request, draft, context)
        kind = detect_kind(request.query)
        if not rules.passed or kind not in self.settings.kinds or draft.tool_calls:
            return rules
        mine = normalize_answer(draft.content, request.query, kind)
        sound: list[str] = []
        agreeing: list[str] = []
        for tier, earlier in previous_drafts(context):
            verdict = await self._judge(self.rules, request, earlier, replace(context, previous=(), previous_models=()))
            if not verdict.passed:
                continue  # a vetoed draft is no reference
            sound.append(tier)
            if mine is not None and normalize_answer(earlier.content, request.query, kind) == mine:
                agreeing.append(tier)
        passed = len(agreeing) >= self.settings.min_agree
        if not sound:
            reason = "corroboration: the first sound draft of a checkable answer is kept only as a reference"
        elif passed:
            reason = f"corroboration: {', '.join(agreeing)} gave the same answer"
        else:
            reason = f"corroboration: {len(agreeing)} of {len(sound)} earlier drafts give the same answer"
        score = len(agreeing) / len(sound) if sound else 0.0
        check = CheckResult(NAME, score, reason)
        return Verdict(score if not passed else max(score, rules.score), passed, (reason,), (check, *rules.checks),
                       NAME, context.threshold)
