"""Refusal and hedging: the commonest way a small model says it cannot answer ("I can't help with that",
"As an AI...", "I'm not sure, I don't know").

Only first-person phrases count, and only where they carry the answer: at its start, in a short answer, or
repeatedly. A phrase inside quotes or reported speech ('saying "I don't know" is fine') is not a hedge, and a
single passing remark deep in a long confident answer costs a little, never a veto.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.cascade.quality.checks.registry import CheckSpec
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_int, check_number

NAME: Final = "refusal"
_OK: Final = CheckResult(NAME, 1.0, "no refusal or hedging")
_NO_TEXT: Final = CheckResult(NAME, 1.0, "no text to judge", applicable=False)

_ACTS: Final = (
    r"(?:help|assist|provide|answer|do that|comply|fulfil|support|share|give|complete|write|generate|create"
    r"|browse|access)"
)
_FIRST_PERSON_RE: Final = re.compile(
    # Every branch starts with a literal "i" (the caller checks it starts a word), which lets the regex
    # engine skip ahead to the next "i" instead of trying every branch at every character: ~5x faster.
    r"i(?:(?P<refusal>"
    rf"(?: can't| cannot| can not| won't| will not|(?:'m| am) (?:not able|unable) to) {_ACTS}"
    r"| (?:must|have to) (?:decline|refuse)"
    r"|(?:'m| am) (?:afraid i can't|not (?:allowed|permitted) to)"
    r"| (?:don't|do not) have (?:access to|the ability|real-time|the capability)"
    r"|(?:'m sorry| am sorry| apologi[sz]e),? but i (?:can't|cannot|won't|am unable|'m unable|am not|'m not"
    r"|don't|do not)"
    r")|(?P<hedge>"
    r"(?:'m| am) (?:not (?:really |entirely |completely |100% |quite )?(?:sure|certain|positive)"
    r"|unsure|uncertain)"
    r"| (?:really )?(?:don't|do not) (?:really )?(?:know|have (?:enough|that|this) information)"
    r"| (?:can't|cannot|can not|couldn't) (?:be (?:sure|certain)|say for (?:sure|certain)|tell for sure)"
    r"| have no (?:idea|way of knowing)"
    r"|t(?:'s| is) (?:hard|difficult|impossible) to (?:say|know|tell)\b"
    r"))"
)
_OTHER_RE: Final = re.compile(
    r"(?P<refusal>\bas an? (?:ai\b|artificial intelligence|(?:large )?language model)"
    r"|\bsorry,? but i (?:can't|cannot|won't|am unable|'m unable|am not|'m not|don't|do not))"
)
_REPORTED: Final = ("say ", "says ", "said ", "saying ", "admit ", "admits ", "admitting ", "like ",
                    "reply ", "replying ", "respond ", "answer ", "answering ", "phrase ", "words ")  # fmt: skip
"""Words that introduce reported speech: 'it's fine to say I don't know' quotes a hedge, it is not one."""
_REPORTED_WINDOW: Final = 12  # characters before a match searched for those words


@dataclass(frozen=True)
class RefusalSettings:
    """Where a refusal or hedge decides the answer, each bound with the reason for its default."""

    lead_chars: int = 160
    """A refusal or first-person hedge within the first ~160 characters (the opening sentence or two) is
    what the answer is about; later ones may be a remark in passing."""
    short_words: int = 40
    """In an answer of at most ~40 words (2-3 sentences) a first-person hedge dominates wherever it stands."""
    max_density: float = 0.02
    """More than one hedge per 50 words is an unsure answer even when none opens it."""
    passing_score: float = 0.8
    """A single hedge deep inside a long, otherwise confident answer costs a little, never a veto."""

    def __post_init__(self) -> None:
        for name in ("lead_chars", "short_words"):
            check_int(f"RefusalSettings.{name}", getattr(self, name), lo=1)
        for name in ("max_density", "passing_score"):
            check_number(f"RefusalSettings.{name}", getattr(self, name), hi=1.0)


def _is_quoted(text: str, start: int) -> bool:
    """Inside double quotes, or introduced as reported speech, rather than said by the model itself."""
    if text.count('"', 0, start) % 2 or text.count("“", 0, start) > text.count("”", 0, start):
        return True
    return text[max(0, start - _REPORTED_WINDOW) : start].endswith(_REPORTED)


def check_refusal(
    request: CompletionRequest, draft: Completion, context: ValidationContext, settings: RefusalSettings
) -> CheckResult:
    """Veto a refusal or hedge that opens the answer, fills a short one, or recurs; shave a passing one."""
    text = draft.content.strip().lower()
    if not text:
        return _NO_TEXT
    if "’" in text:
        text = text.replace("’", "'")
    found: list[str] = []
    matches = list(_FIRST_PERSON_RE.finditer(text)) if "i" in text else []
    if "as a" in text or "sorry" in text:  # _OTHER_RE needs one of them; both are rare in answers
        matches += _OTHER_RE.finditer(text)
    for match in matches:
        start = match.start()
        if (start and text[start - 1].isalnum()) or _is_quoted(text, start):
            continue
        kind = "refusal" if match.lastgroup == "refusal" else "hedging"
        if start < settings.lead_chars:
            return CheckResult(NAME, 0.0, f"refusal: the answer opens with {kind} ({match.group()!r})")
        found.append(match.group())
    if not found:
        return _OK
    words = len(text.split())
    if words <= settings.short_words or len(found) / words > settings.max_density:
        return CheckResult(NAME, 0.0, f"refusal: hedges {len(found)}x in {words} words ({found[0]!r})")
    return CheckResult(
        NAME, settings.passing_score, f"refusal: one passing hedge late in the answer ({found[0]!r})"
    )


SPEC: Final = CheckSpec(
    name=NAME,
    run=check_refusal,
    settings=RefusalSettings,
    weight=2.0,  # refusal/hedging is the most common way a small model signals it cannot answer
    order=20,
)
