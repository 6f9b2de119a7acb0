"""Relevance: does the answer talk about what was asked? Lexical overlap of the question's content words
(stemmed lightly) with the answer. Lenient where overlap says nothing ("Blue." to "What color is the sky?"),
strict where it does (a long answer, or a substantive question, that never touches the topic).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from cascadeflow.cascade.quality.agreement import detect_kind, parse_options
from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.cascade.quality.checks.registry import CheckSpec
from cascadeflow.cascade.quality.text import content_stems, starts_a_word
from cascadeflow.errors import ConfigError
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_int, check_number

NAME: Final = "relevance"
_NO_TEXT: Final = CheckResult(NAME, 1.0, "no text to judge", applicable=False)
_NO_TOPIC: Final = CheckResult(NAME, 1.0, "the question has no content words", applicable=False)
_TRANSLATION: Final = CheckResult(NAME, 1.0, "translations share no words with the question", applicable=False)
_CALCULATION: Final = CheckResult(NAME, 1.0, "a worked calculation need not repeat the question's words; the "
                                  "arithmetic check judges it", applicable=False)
_DIGIT_RE: Final = re.compile("[0-9]")
_CHOICE: Final = CheckResult(NAME, 1.0, "an option picked from a list shares no words with the question; the choice "
                             "check judges it", applicable=False)
_RELEVANT: Final = CheckResult(NAME, 1.0, "relevance: the answer uses the question's topic words")
_MAX_QUERY_STEMS: Final = 40
"""Long prompts (a pasted document) are judged on their first 40 content words: the answer to "summarise
this" covers a fraction of them, and the coverage target below is reached on that sample."""


@dataclass(frozen=True)
class RelevanceSettings:
    """How much topic overlap is enough, each bound with the reason for its default."""

    full_coverage: float = 0.5
    """Answering with half of the question's content words is full marks: answers paraphrase the rest."""
    short_query_words: int = 3
    """A question with at most three content words ("What color is the sky?") can be answered without
    repeating any of them ("Blue."), so zero overlap is not evidence of an off-topic answer..."""
    short_answer_words: int = 30
    """...as long as the answer is short too (a long answer that never touches the topic is off-topic)."""
    lenient_score: float = 0.6
    """Score given in that lenient case: above the veto, below a confident pass."""

    def __post_init__(self) -> None:
        for name in ("full_coverage", "lenient_score"):
            check_number(f"RelevanceSettings.{name}", getattr(self, name), hi=1.0)
        if self.full_coverage == 0:  # the coverage is divided by it
            raise ConfigError("RelevanceSettings.full_coverage", "must be above 0, got 0")
        for name in ("short_query_words", "short_answer_words"):
            check_int(f"RelevanceSettings.{name}", getattr(self, name), lo=1)


def _is_follow_up(request: CompletionRequest) -> bool:
    """A short follow-up ("make it shorter", "why?") refers to earlier turns: any answer length is fine."""
    return any(m.role == "assistant" for m in request.messages)


def check_relevance(
    request: CompletionRequest, draft: Completion, context: ValidationContext, settings: RelevanceSettings
) -> CheckResult:
    """Score the share of the question's content words the answer uses; lenient for short Q&A pairs."""
    answer = draft.content
    if not answer.strip():
        return _NO_TEXT
    if parse_options(request.query):
        return _CHOICE
    if detect_kind(request.query) == "number" and _DIGIT_RE.search(answer):
        return _CALCULATION
    query = request.query.lower()
    if "translat" in query:
        return _TRANSLATION
    stems = content_stems(query)[:_MAX_QUERY_STEMS]
    if not stems:
        return _NO_TOPIC
    lowered = answer.lower()
    hits = sum(1 for s in stems if starts_a_word(lowered, s))
    coverage = hits / len(stems)
    score = min(1.0, coverage / settings.full_coverage)
    if score >= 1.0:
        return _RELEVANT
    if (
        len(stems) <= settings.short_query_words
        and score < settings.lenient_score
        and (len(answer.split()) <= settings.short_answer_words or _is_follow_up(request))
    ):
        return CheckResult(
            NAME,
            settings.lenient_score,
            f"relevance: short question, {hits} of {len(stems)} topic words; too little to judge",
        )
    missing = ", ".join([s for s in stems if not starts_a_word(lowered, s)][:4])
    return CheckResult(
        NAME, score, f"relevance: the answer uses {hits} of {len(stems)} topic words (missing e.g. {missing})"
    )


SPEC: Final = CheckSpec(
    name=NAME,
    run=check_relevance,
    settings=RelevanceSettings,
    weight=1.0,  # lexical overlap is noisy for short answers, so it counts least
    order=60,
)
