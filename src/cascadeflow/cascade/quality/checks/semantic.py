"""Semantic similarity (opt-in, ``[semantic]``): is the answer about what was asked?

Embeds the question and the answer (:mod:`cascadeflow.cascade.embedding`; all-MiniLM-L6-v2 from a PyPI package
by default) and scores their cosine similarity. It catches what word overlap misses in both directions: an
on-topic paraphrase with no shared words passes, a fluent answer to a different question fails. Off by default
(weight 0): it costs a model load and a few milliseconds per draft. Turn it on with
``QualityValidator(enable_semantic_similarity=True)`` or ``CheckSettings(weights={"semantic": 1.0})``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from cascadeflow.cascade.embedding import Embedder, PackagedMiniLM
from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.cascade.quality.checks.registry import CheckSpec
from cascadeflow.errors import ConfigError
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_number

NAME: Final = "semantic"
_NO_TEXT: Final = CheckResult(NAME, 1.0, "no question or answer text to compare", applicable=False)


@dataclass(frozen=True)
class SemanticSettings:
    """How similar question and answer must be, each bound with its reason."""

    embedder: Embedder = field(default_factory=PackagedMiniLM, compare=False)
    """Any :class:`~cascadeflow.cascade.embedding.Embedder`; the default loads the packaged MiniLM on first use."""
    off_topic: float = 0.1
    """At or below this cosine similarity the answer is about something else (MiniLM puts unrelated English
    sentences around 0-0.1): a veto."""
    on_topic: float = 0.4
    """From here up the answer is clearly about the question (a relevant answer to a short question usually
    scores 0.4-0.8): full marks. In between the score rises from ``floor``."""
    floor: float = 0.4
    """Score just above ``off_topic``: doubt, not a veto — short or terse answers score lower similarities."""

    def __post_init__(self) -> None:
        for name in ("off_topic", "on_topic", "floor"):
            check_number(f"SemanticSettings.{name}", getattr(self, name), lo=-1.0, hi=1.0)
        if self.on_topic <= self.off_topic:
            raise ConfigError("SemanticSettings.on_topic", f"must be above off_topic ({self.off_topic})")
        if not isinstance(self.embedder, Embedder):
            raise ConfigError("SemanticSettings.embedder", f"must have embed(texts), got {self.embedder!r}")


def check_semantic(
    request: CompletionRequest, draft: Completion, context: ValidationContext, settings: SemanticSettings
) -> CheckResult:
    question, answer = request.query.strip(), draft.content.strip()
    if not question or not answer:
        return _NO_TEXT
    vectors = settings.embedder.embed([question, answer])
    similarity = float(vectors[0] @ vectors[1])
    if similarity <= settings.off_topic:
        return CheckResult(NAME, 0.0, f"semantic: the answer is off-topic (similarity {similarity:.2f})")
    if similarity >= settings.on_topic:
        return CheckResult(NAME, 1.0, f"semantic: on topic (similarity {similarity:.2f})")
    share = (similarity - settings.off_topic) / (settings.on_topic - settings.off_topic)
    score = settings.floor + (1.0 - settings.floor) * share
    return CheckResult(NAME, score, f"semantic: loosely related (similarity {similarity:.2f})")


SPEC: Final = CheckSpec(
    name=NAME,
    run=check_semantic,
    settings=SemanticSettings,
    weight=0.0,  # opt-in: a model load and milliseconds per draft
    order=85,  # after the rule checks
)
