"""The built-in quality checks, one per file, each ``(request, draft, context, settings) -> CheckResult``.

:data:`BUILTIN_CHECKS` lists them in the order the composite runs them; when two checks veto with the same
score, the earlier one is named as the deciding check. Newer checks are objects with their settings beside them
(``ArithmeticCheck(ArithmeticSettings(...))``) and a ``default_weight``, which the composite uses when
``CheckSettings.weights`` does not name the check.
"""

from __future__ import annotations

from typing import Final, Protocol

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.cascade.quality.checks.answer_type import check_answer_type
from cascadeflow.cascade.quality.checks.arithmetic import ArithmeticCheck
from cascadeflow.cascade.quality.checks.choice import ChoiceCheck
from cascadeflow.cascade.quality.checks.code_static import CodeStaticCheck
from cascadeflow.cascade.quality.checks.completeness import check_completeness
from cascadeflow.cascade.quality.checks.confidence import check_confidence
from cascadeflow.cascade.quality.checks.degeneration import check_degeneration
from cascadeflow.cascade.quality.checks.refusal import check_refusal
from cascadeflow.cascade.quality.checks.relevance import check_relevance
from cascadeflow.cascade.quality.checks.tool_calls import check_tool_calls
from cascadeflow.config import CheckSettings
from cascadeflow.types import Completion, CompletionRequest


class Check(Protocol):
    """One quality check. ``applicable=False`` in the result leaves it out of the score."""

    def __call__(
        self, request: CompletionRequest, draft: Completion, context: ValidationContext, settings: CheckSettings
    ) -> CheckResult: ...


BUILTIN_CHECKS: Final[tuple[tuple[str, Check], ...]] = (
    ("completeness", check_completeness),
    ("refusal", check_refusal),
    ("degeneration", check_degeneration),
    ("tool_calls", check_tool_calls),
    ("answer_type", check_answer_type),
    ("choice", ChoiceCheck()),
    ("arithmetic", ArithmeticCheck()),
    ("code_static", CodeStaticCheck()),
    ("relevance", check_relevance),
    ("confidence", check_confidence),
)

__all__ = [
    "BUILTIN_CHECKS",
    "ArithmeticCheck",
    "Check",
    "ChoiceCheck",
    "CodeStaticCheck",
    "check_answer_type",
    "check_completeness",
    "check_confidence",
    "check_degeneration",
    "check_refusal",
    "check_relevance",
    "check_tool_calls",
]
