"""Choice: an answer to a multiple-choice question must pick exactly one of the options offered.

Label-free and format-only: it cannot tell a right option from a wrong one (nothing in a bare "B" can), but it
rejects answers that pick none, pick an option that does not exist, or hedge between several, and it is the
check that judges such answers instead of word-overlap relevance (a letter shares no words with the question).
To tell right from wrong options without labels, ask a second model (agreement, ≥ 3 tiers) or let the next tier
score the draft (``PTrueValidator``, opt-in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from cascadeflow.cascade.quality.agreement import normalize_choice, parse_options
from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.cascade.quality.checks.registry import CheckSpec
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_number

NAME: Final = "choice"
_NOT_CHOICE: Final = CheckResult(NAME, 1.0, "not a multiple-choice question", applicable=False)
_LABEL_MENTION_RE: Final = re.compile(
    r"(?<![\w'])\(?([A-H]|[1-9])\)(?!\w)|\b(?:option|choice|answer)\s+\(?([A-H]|[1-9])\b"
)


@dataclass(frozen=True)
class ChoiceSettings:
    """Scores for each finding, each with its reason."""

    unreadable_score: float = 0.1
    """No option can be read from the answer (or it names one that does not exist): unusable as an answer."""
    several_score: float = 0.2
    """The answer names two or more different options: it has not chosen."""

    def __post_init__(self) -> None:
        for name in ("unreadable_score", "several_score"):
            check_number(f"ChoiceSettings.{name}", getattr(self, name), hi=1.0)


def named_options(answer: str, labels: set[str]) -> set[str]:
    """Option labels the answer mentions as labels ("(B)", "C)", "option 2"), among ``labels``."""
    found = {a or b for a, b in _LABEL_MENTION_RE.findall(answer)}
    return found & labels


def check_choice(
    request: CompletionRequest, draft: Completion, context: ValidationContext, settings: ChoiceSettings
) -> CheckResult:
    """Exactly one of the offered options is picked."""
    if draft.tool_calls or not draft.content.strip():
        return _NOT_CHOICE
    query = request.query
    options = parse_options(query)
    if not options:
        return _NOT_CHOICE
    picked = normalize_choice(draft.content, query)
    labels = [label for label, _ in options]
    if picked is None:
        return CheckResult(NAME, settings.unreadable_score,
                           f"choice: the answer picks none of the options {', '.join(labels)}")
    mentioned = named_options(draft.content, set(labels))
    if len(mentioned) > 1:
        return CheckResult(NAME, settings.several_score,
                           f"choice: the answer names several options ({', '.join(sorted(mentioned))})")
    return CheckResult(NAME, 1.0, f"choice: picks option {labels[int(picked)]} of {len(labels)}")


SPEC: Final = CheckSpec(
    name=NAME,
    run=check_choice,
    settings=ChoiceSettings,
    weight=2.0,  # a format failure is as concrete as an empty answer
    order=52,  # before relevance, which leaves multiple-choice answers to this check
)
