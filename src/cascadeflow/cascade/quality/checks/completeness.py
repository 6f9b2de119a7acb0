"""Completeness: an empty or cut-off draft is never an answer, however good its first half reads."""

from __future__ import annotations

from typing import Final

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.config import CheckSettings
from cascadeflow.types import Completion, CompletionRequest

NAME: Final = "completeness"
_OK: Final = CheckResult(NAME, 1.0, "complete")
_EMPTY: Final = CheckResult(NAME, 0.0, "completeness: the answer is empty")
_FILTERED: Final = CheckResult(NAME, 0.0, "completeness: the provider's content filter cut the answer")
_TRUNCATED_REASONS: Final = frozenset({"length", "max_tokens"})  # OpenAI-style and Anthropic-style names


def check_completeness(
    request: CompletionRequest, draft: Completion, context: ValidationContext, settings: CheckSettings
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
