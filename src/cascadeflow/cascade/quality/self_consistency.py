"""Self-consistency: ask the drafting model again, a few times at a higher temperature; keep the draft when the
samples give the same answer (opt-in).

A model that knows the answer tends to give it however it is sampled; one that guesses scatters (Wang et al.,
2023; Yue et al., ICLR 2024, use the agreement of cheap samples to decide when to escalate). The samples come
from the tier's own provider (``ValidationContext.provider``), so it costs ``samples`` more cheap calls and
no call to a stronger model. Answers are compared as the agreement validator normalises them (an option, a
final number, code by normalised AST); free text by word overlap (F1 of the words, like "Paris" and "The
capital is Paris"). It calls models, so it is a preset, never the default.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Final

from cascadeflow.cascade.quality.agreement import detect_kind, normalize_answer
from cascadeflow.cascade.quality.base import CheckResult, ValidationContext, Validator, Verdict
from cascadeflow.errors import ProviderError
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_int, check_number

NAME: Final = "self_consistency"
_WORD_RE: Final = re.compile(r"\w+")


@dataclass(frozen=True)
class SelfConsistencySettings:
    """How many samples, how hot, and how many must agree; each with its reason."""

    samples: int = 3
    """Extra answers asked of the drafting model: three already separate guesses from knowledge."""
    temperature: float = 0.7
    """Hot enough that a guess changes between samples, cool enough that a known answer does not."""
    min_agreement: float = 0.66
    """Share of the samples that must give the draft's answer (two of three)."""
    text_overlap: float = 0.5
    """Free-text answers agree when they share half their words (F1): the same fact in other words."""
    rule_gate_threshold: float = 0.5
    """The rule checks only gate obvious defects (a broken draft is not worth sampling for)."""

    def __post_init__(self) -> None:
        check_int("SelfConsistencySettings.samples", self.samples, lo=1, hi=32)
        check_number("SelfConsistencySettings.temperature", self.temperature, hi=2.0)
        for name in ("min_agreement", "text_overlap", "rule_gate_threshold"):
            check_number(f"SelfConsistencySettings.{name}", getattr(self, name), hi=1.0)


def word_f1(a: str, b: str) -> float:
    """F1 overlap of the words of two texts (case-insensitive)."""
    wa, wb = Counter(_WORD_RE.findall(a.lower())), Counter(_WORD_RE.findall(b.lower()))
    common = sum((wa & wb).values())
    if not common:
        return 0.0
    precision, recall = common / sum(wa.values()), common / sum(wb.values())
    return 2 * precision * recall / (precision + recall)


def same_answer(query: str, a: str, b: str, overlap: float) -> bool:
    """Whether two answers to ``query`` say the same (normalised by kind; free text by word overlap)."""
    kind = detect_kind(query)
    if kind == "text":
        return word_f1(a, b) >= overlap
    mine = normalize_answer(a, query, kind)
    return mine is not None and mine == normalize_answer(b, query, kind)


class SelfConsistencyValidator:
    """Rules first, then ``samples`` more answers from the same model decide; rules alone when no provider."""

    __slots__ = ("rules", "settings")

    def __init__(self, rules: Validator, settings: SelfConsistencySettings | None = None) -> None:
        self.rules = rules
        self.settings = settings or SelfConsistencySettings()

    async def _rules(self, request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        verdict = self.rules(request, draft, context)
        return verdict if isinstance(verdict, Verdict) else await verdict

    async def __call__(self, request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        s = self.settings
        own = context.provider
        if own is None or draft.tool_calls or not draft.content.strip():
            return _note(await self._rules(request, draft, context), "no provider to sample from; rules decide")
        gate = await self._rules(request, draft, replace(context, threshold=min(context.threshold,
                                                                                s.rule_gate_threshold)))
        if not gate.passed:
            return gate
        hot = replace(request, temperature=s.temperature, logprobs=False)
        try:
            samples = await asyncio.gather(*(own.complete(hot) for _ in range(s.samples)))
        except ProviderError as exc:
            verdict = await self._rules(request, draft, context)
            return _note(verdict, f"sampling failed ({type(exc).__name__}: {exc}); rules decide")
        agreeing = sum(same_answer(request.query, draft.content, c.content, s.text_overlap) for c in samples)
        score = agreeing / len(samples)
        passed = score >= s.min_agreement
        reason = f"self-consistency: {agreeing} of {len(samples)} new samples give the same answer"
        return Verdict(score, passed, (reason,), (CheckResult(NAME, score, reason), *gate.checks), NAME,
                       s.min_agreement)


def _note(verdict: Verdict, note: str) -> Verdict:
    return replace(verdict, reasons=(*verdict.reasons, note), decided_by=verdict.decided_by or "rules")
