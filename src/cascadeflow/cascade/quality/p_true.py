"""P(True): the next tier reads the question and the draft and says how likely the draft is correct (opt-in).

Kadavath et al. (2022), "Language Models (Mostly) Know What They Know": shown a question and a proposed answer
and asked whether it is true, a model's probability of "True" is a calibrated guess of correctness. Here the
next (stronger) tier does it in one prefill pass through its ``score`` capability (local llama.cpp, vLLM):
the prompt is the question, the draft and the yes/no question; "True" and "False" are scored as the reply and
``P(True) = p(True) / (p(True) + p(False))``. The second score reuses the cached prompt, so the cost is about
one prefill of prompt + draft — no generation.

It calls another model, so it is a preset, not the default: ``tier_validators={"drafter":
PTrueValidator(build_validator(quality))}``. The rule checks run first (a broken draft is rejected without
asking anyone); when the next tier cannot score (an API model) or scoring fails, the rules decide alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Final

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext, Validator, Verdict
from cascadeflow.errors import ProviderError
from cascadeflow.types import Completion, CompletionRequest, Message
from cascadeflow.validate import check_int, check_number

NAME: Final = "p_true"
DEFAULT_PROMPT: Final = (
    "Question: {question}\n\nProposed answer: {answer}\n\n"
    "Is the proposed answer correct? Reply with one word: True or False."
)


@dataclass(frozen=True)
class PTrueSettings:
    """How the next tier is asked, and what it must say; each with its reason."""

    min_p_true: float = 0.5
    """P(True) needed to keep the draft: the judge thinks it more likely right than wrong. Raise it to keep
    fewer, better drafts (docs/benchmarks.md has the measured trade-off)."""
    prompt: str = DEFAULT_PROMPT
    """The question put to the judge; ``{question}`` and ``{answer}`` are filled in."""
    max_answer_chars: int = 6000
    """Longer drafts are cut (the judge's context is finite; the start of an answer says most)."""
    rule_gate_threshold: float = 0.5
    """The rule checks only gate obvious defects when a judge is available (it decides the rest)."""
    yes: str = "True"
    no: str = "False"

    def __post_init__(self) -> None:
        check_number("PTrueSettings.min_p_true", self.min_p_true, hi=1.0)
        check_number("PTrueSettings.rule_gate_threshold", self.rule_gate_threshold, hi=1.0)
        check_int("PTrueSettings.max_answer_chars", self.max_answer_chars, lo=1)


def _can_score(provider: Any) -> bool:
    return provider is not None and callable(getattr(provider, "score", None))


async def p_true(judge: Any, request: CompletionRequest, answer: str, settings: PTrueSettings) -> float:
    """The judge's P(True) that ``answer`` answers ``request`` correctly (two scores of one prompt)."""
    text = settings.prompt.format(question=request.query, answer=answer[: settings.max_answer_chars])
    messages = (Message(role="user", content=text),)
    yes = await judge.score(messages, settings.yes)
    no = await judge.score(messages, settings.no)
    log_yes, log_no = sum(t.logprob for t in yes), sum(t.logprob for t in no)
    top = max(log_yes, log_no)
    return math.exp(log_yes - top) / (math.exp(log_yes - top) + math.exp(log_no - top))


class PTrueValidator:
    """Rules first, then the next tier's P(True) decides; falls back to the rules alone."""

    __slots__ = ("rules", "settings")

    def __init__(self, rules: Validator, settings: PTrueSettings | None = None) -> None:
        self.rules = rules
        self.settings = settings or PTrueSettings()

    async def _rules(self, request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        verdict = self.rules(request, draft, context)
        return verdict if isinstance(verdict, Verdict) else await verdict

    async def __call__(self, request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        judge = context.next_provider
        if not _can_score(judge) or draft.tool_calls or not draft.content.strip():
            return _note(await self._rules(request, draft, context), "the next tier cannot score; rules decide")
        gate = await self._rules(request, draft, replace(context, threshold=min(
            context.threshold, self.settings.rule_gate_threshold)))
        if not gate.passed:
            return _note(gate, "rejected by the rule checks before asking the next tier")
        try:
            p = await p_true(judge, request, draft.content, self.settings)
        except (ProviderError, ValueError) as exc:
            verdict = await self._rules(request, draft, context)
            return _note(verdict, f"P(True) failed ({type(exc).__name__}: {exc}); rules decide")
        floor = self.settings.min_p_true
        passed = p >= floor
        who = getattr(judge, "model", "") or "the next tier"
        reason = f"{who} gives P(True) {p:.2f} {'>=' if passed else '<'} {floor:.2f}"
        return Verdict(p, passed, (reason,), (CheckResult(NAME, p, reason), *gate.checks), NAME, floor)


def _note(verdict: Verdict, note: str) -> Verdict:
    return replace(verdict, reasons=(*verdict.reasons, note), decided_by=verdict.decided_by or "rules")
