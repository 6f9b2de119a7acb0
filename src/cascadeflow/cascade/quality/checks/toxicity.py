"""Toxicity (opt-in): an answer that insults, threatens or swears at the user is rejected and escalated.

The default scorer is rule-based (:class:`RuleToxicityScorer`): threats and self-harm incitement, insults aimed
at the reader ("you are an idiot"), and profanity — matched as whole words, so "Scunthorpe" or "assess" never
trip it. No packaged toxicity *model* installs from PyPI here without a hub download at run time, so none is
bundled; any model plugs in through :class:`ToxicityScorer` (``score(text) -> 0..1``, 1 = toxic), e.g. a local
classifier or a moderation API. Off by default (weight 0): turn it on with
``QualityValidator(enable_toxicity_detection=True)`` or ``CheckSettings(weights={"toxicity": 2.0})``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.cascade.quality.checks.registry import CheckSpec
from cascadeflow.errors import ConfigError
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_number

NAME: Final = "toxicity"
_NO_TEXT: Final = CheckResult(NAME, 1.0, "no text to judge", applicable=False)

_INSULTS: Final = (r"idiot|moron|imbecile|stupid|dumb|dumbass|loser|pathetic|worthless|useless|retard(?:ed)?"
                   r"|clown|fool|ignorant")
_PROFANITY: Final = (r"fuck(?:ing|ed|er|s)?|shit(?:ty|s)?|bullshit|bitch(?:es)?|asshole|bastard|crap|damn(?:ed)?"
                     r"|piss(?:ed)?")
_THREAT_RE: Final = re.compile(
    r"\b(?:i(?:'ll| will| am going to|'m going to|'m gonna) (?:kill|hurt|destroy|find) you"
    r"|(?:go |you should )?kill yourself|(?:hope|wish) you (?:die|get hurt)|you (?:should|deserve to) die)\b"
)
_AIMED_INSULT_RE: Final = re.compile(
    rf"\b(?:you(?:'re| are)?|your(?: question)? is|what an?|such an?|shut up,?) (?:(?:a|an|so|such|an? absolute|"
    rf"complete(?:ly)?|total(?:ly)?|really) )*(?:{_INSULTS})\b"
)
_PROFANITY_RE: Final = re.compile(rf"\b(?:{_PROFANITY})\b")


@runtime_checkable
class ToxicityScorer(Protocol):
    """``score(text)`` in 0..1, 1 = certainly toxic."""

    def score(self, text: str) -> float: ...


@dataclass(frozen=True, slots=True)
class RuleToxicityScorer:
    """Threats → 1.0, an insult aimed at the reader → ``insult``, profanity → ``profanity`` per word (capped)."""

    insult: float = 0.8
    """Calling the user names is never an acceptable answer: above any sensible ``max_toxicity``."""
    profanity: float = 0.35
    """One swear word in an otherwise civil answer is doubt (quoted lyrics, a user's own words); two are not."""

    def score(self, text: str) -> float:
        lowered = text.lower().replace("’", "'")
        if _THREAT_RE.search(lowered):
            return 1.0
        found = self.insult if _AIMED_INSULT_RE.search(lowered) else 0.0
        swearing = len(_PROFANITY_RE.findall(lowered)) * self.profanity
        return min(1.0, max(found, swearing))


@dataclass(frozen=True)
class ToxicitySettings:
    """The scorer and the line it must stay under."""

    scorer: ToxicityScorer = field(default_factory=RuleToxicityScorer, compare=False)
    """Any :class:`ToxicityScorer`; the rule-based one by default (no model is packaged for this)."""
    max_toxicity: float = 0.5
    """A scorer's 0.5 is its own "more likely toxic than not": at or above it the draft is vetoed."""

    def __post_init__(self) -> None:
        check_number("ToxicitySettings.max_toxicity", self.max_toxicity, hi=1.0)
        if not isinstance(self.scorer, ToxicityScorer):
            raise ConfigError("ToxicitySettings.scorer", f"must have score(text) -> float, got {self.scorer!r}")


def check_toxicity(
    request: CompletionRequest, draft: Completion, context: ValidationContext, settings: ToxicitySettings
) -> CheckResult:
    text = draft.content.strip()
    if not text:
        return _NO_TEXT
    toxicity = float(settings.scorer.score(text))
    if toxicity >= settings.max_toxicity:
        return CheckResult(NAME, 0.0, f"toxicity: the answer is abusive (toxicity {toxicity:.2f})")
    return CheckResult(NAME, 1.0 - toxicity, "toxicity: none found" if toxicity == 0 else
                       f"toxicity: mild (toxicity {toxicity:.2f})")


SPEC: Final = CheckSpec(
    name=NAME,
    run=check_toxicity,
    settings=ToxicitySettings,
    weight=0.0,  # opt-in, as the v0.2.0 plan asks of every ML-style check
    order=25,
)
