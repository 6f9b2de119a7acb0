"""Completeness: an empty or cut-off draft is never an answer, however good its first half reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.cascade.quality.checks.registry import CheckSpec
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_number

NAME: Final = "completeness"
_OK: Final = CheckResult(NAME, 1.0, "complete")
_EMPTY: Final = CheckResult(NAME, 0.0, "completeness: the answer is empty")
_FILTERED: Final = CheckResult(NAME, 0.0, "completeness: the provider's content filter cut the answer")
_TRUNCATED_REASONS: Final = frozenset({"length", "max_tokens"})  # OpenAI-style and Anthropic-style names


@dataclass(frozen=True)
class CompletenessSettings:
    """The completeness check's tunables, each with the reason for its default."""

    truncated_score: float = 0.1
    """Score of a draft cut off at max_tokens (or ending inside a code fence): a veto, kept above 0 so that a
    more specific cause (a repetition loop that ran into the limit) is named first."""

    def __post_init__(self) -> None:
        check_number("CompletenessSettings.truncated_score", self.truncated_score, hi=1.0)


def check_completeness(
    request: CompletionRequest, draft: Completion, context: ValidationContext, settings: CompletenessSettings
) -> CheckResult:
    """Veto empty drafts, drafts stopped by the token limit or the content filter, and unclosed code fences."""
    content = draft.content
    if not content.strip():
        return _OK if draft.tool_calls else _EMPTY
    finish = draft.finish_reason
    if finish in _TRUNCATED_REASONS:
        return CheckResult(
            NAME, settings.truncated_score, f"completeness: truncated at the token limit (finish_reason={finish!r})"
        )
    if finish == "content_filter":
        return _FILTERED
    if content.count("```") % 2:
        return CheckResult(NAME, settings.truncated_score, "completeness: ends inside an unclosed code block")
    return _OK


SPEC: Final = CheckSpec(
    name=NAME,
    run=check_completeness,
    settings=CompletenessSettings,
    weight=2.0,  # an empty or cut-off answer is a near-certain failure: weighted highest
    order=10,  # first: an empty draft is named as empty, not as irrelevant
)
