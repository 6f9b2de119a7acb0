"""User-facing configuration: :class:`ModelConfig` and :class:`QualityConfig`.

These are validated dataclasses rather than pydantic models on purpose: importing pydantic costs ~190 ms on
a 2-core machine, twice the whole import budget of ``from cascadeflow import CascadeAgent``. Every check
raises :class:`~cascadeflow.errors.ConfigError` naming the field, at construction time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, TypeAlias

from cascadeflow.errors import ConfigError

Complexity: TypeAlias = Literal["trivial", "simple", "moderate", "hard", "expert"]
COMPLEXITY_LEVELS: tuple[Complexity, ...] = ("trivial", "simple", "moderate", "hard", "expert")
TIER_ORDERS: tuple[str, ...] = ("price", "given")
"""How an agent orders its tiers: ``price`` (cheapest first, ties keep your order) or ``given`` (exactly as
listed; the last tier is still the one every escalation ends at)."""


def _check_number(name: str, value: object, *, lo: float = 0.0, hi: float = math.inf) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= float(value) <= hi:
        bound = f"between {lo} and {hi}" if hi != math.inf else f">= {lo}"
        raise ConfigError(name, f"must be a number {bound}, got {value!r}")


@dataclass(frozen=True)
class ModelConfig:
    """One model (one tier) of a cascade.

    Price it either with ``cost`` (USD per 1K tokens, blended input/output, as in the documented API) or with
    ``input_price`` and ``output_price`` (USD per 1M tokens). With neither, the price is looked up in the
    ``genai-prices`` catalogue; local and self-hosted presets are free.
    """

    name: str
    provider: str = "openai"
    cost: float | None = None
    input_price: float | None = None
    output_price: float | None = None
    speed_ms: float | None = None
    supports_tools: bool = True
    base_url: str | None = None
    api_key: str | None = None
    domains: Sequence[str] = ()
    timeout_s: float = 60.0
    max_retries: int = 2
    quality_threshold: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError("ModelConfig.name", f"must be a non-empty string, got {self.name!r}")
        if not isinstance(self.provider, str) or not self.provider.strip():
            raise ConfigError("ModelConfig.provider", f"must be a non-empty string, got {self.provider!r}")
        for name in ("cost", "input_price", "output_price", "speed_ms"):
            value = getattr(self, name)
            if value is not None:
                _check_number(f"ModelConfig.{name}", value)
        if (self.input_price is None) != (self.output_price is None):
            raise ConfigError("ModelConfig.input_price", "give input_price and output_price together (USD per 1M)")
        if self.cost is not None and self.input_price is not None:
            raise ConfigError("ModelConfig.cost", "give either cost (per 1K, blended) or input/output prices, not both")
        if self.base_url is not None and not str(self.base_url).startswith(("http://", "https://")):
            raise ConfigError("ModelConfig.base_url", f"must start with http:// or https://, got {self.base_url!r}")
        _check_number("ModelConfig.timeout_s", self.timeout_s, lo=0.001)
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ConfigError("ModelConfig.max_retries", f"must be an integer >= 0, got {self.max_retries!r}")
        if self.quality_threshold is not None:
            _check_number("ModelConfig.quality_threshold", self.quality_threshold, hi=1.0)
        if isinstance(self.domains, str) or not all(isinstance(d, str) for d in self.domains):
            raise ConfigError("ModelConfig.domains", f"must be a list of strings, got {self.domains!r}")
        object.__setattr__(self, "domains", tuple(d.strip().lower() for d in self.domains))
        object.__setattr__(self, "options", dict(self.options))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Build from a plain mapping (YAML/JSON/env), rejecting unknown keys by name."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"ModelConfig.{unknown[0]}", f"unknown field; known fields: {sorted(known)}")
        return cls(**dict(data))

    def with_(self, **changes: Any) -> ModelConfig:
        return replace(self, **changes)


@dataclass(frozen=True)
class CheckSettings:
    """Tunables of the built-in quality checks, each with the reason for its default.

    Weights say how much each check counts in the composite score (a weight of 0 turns a check off); a check
    whose score falls below ``veto`` rejects the draft on its own (an empty or looping answer is never
    "mostly fine"). The other fields belong to one check each, named by their prefix.
    """

    weights: Mapping[str, float] = field(
        default_factory=lambda: {
            # Completeness and degeneration are near-certain failure signals: weight them highest.
            "completeness": 2.0,
            "degeneration": 2.0,
            # Refusal/hedging is the most common way a small model signals it cannot answer.
            "refusal": 2.0,
            # Relevance by lexical overlap is noisy for short answers, so it counts less.
            "relevance": 1.0,
            # Asking for a number/code/JSON and getting something else is a hard mismatch.
            "answer_type": 1.5,
            # Token confidence is only present when the provider returns logprobs.
            "confidence": 1.5,
            # Tool calls that name unknown tools or carry invalid JSON are unusable.
            "tool_calls": 2.0,
        }
    )
    veto: float = 0.3
    """A check scoring below this rejects the draft regardless of the weighted mean: 0.3 means the check
    found a concrete defect (refusal phrase, repetition loop, invalid JSON), not mere doubt."""
    user_weight: float = 2.0
    """Weight of a user validator not named in ``weights``: the user asked for it, so it counts like the
    strongest built-in checks."""

    truncated_score: float = 0.1
    """Completeness score of a draft cut off at max_tokens (or ending inside a code fence): a veto, kept above
    0 so that a more specific cause (a repetition loop that ran into the limit) is named first."""

    refusal_lead_chars: int = 160
    """A refusal or first-person hedge within the first ~160 characters (the opening sentence or two) is
    what the answer is about; later ones may be a remark in passing."""
    refusal_short_words: int = 40
    """In an answer of at most ~40 words (2-3 sentences) a first-person hedge dominates wherever it stands."""
    refusal_max_density: float = 0.02
    """More than one hedge per 50 words is an unsure answer even when none opens it."""
    refusal_passing_score: float = 0.8
    """A single hedge deep inside a long, otherwise confident answer costs a little, never a veto."""

    repeat_ngram: int = 3
    """Loops are measured on word trigrams: long enough that ordinary phrases ("of the") rarely repeat."""
    repeat_min_words: int = 10
    """Below ~10 words a repetition ratio is noise ("No, no, no." is emphasis, not a loop)."""
    repeat_max_ratio: float = 0.5
    """Share of repeated trigrams above which text is a loop: prose stays under ~0.15, loops exceed 0.6."""
    repeat_line_min: int = 4
    """Repeated-line checks need at least four substantive lines to say anything."""
    repeat_line_chars: int = 12
    """Lines shorter than this (braces, '---', short list stubs) may legitimately repeat and are ignored."""
    repeat_line_max_ratio: float = 0.5
    """More than half of the substantive lines being copies of others is a loop."""
    gibberish_min_words: int = 8
    """Gibberish ratios need a sentence or so of words to be meaningful."""
    gibberish_max_ratio: float = 0.35
    """Share of words containing a run of five lower-case consonants: English prose has ~0-3% (acronyms are
    upper case and not counted), keyboard mash and token soup well over a third."""
    entropy_min_chars: int = 40
    """Character entropy is judged only on at least ~40 characters; shorter samples swing too much."""
    entropy_low: float = 2.5
    """Bits per character below which text is a character loop ("hahaha", "!!!!"); English runs ~4.1."""
    entropy_high: float = 5.8
    """Bits per character above which ASCII text is random soup (~6.1); base64/hex stay <= 5.7, English ~4.2."""

    relevance_full_coverage: float = 0.5
    """Answering with half of the question's content words is full marks: answers paraphrase the rest."""
    relevance_short_query_words: int = 3
    """A question with at most three content words ("What color is the sky?") can be answered without
    repeating any of them ("Blue."), so zero overlap is not evidence of an off-topic answer..."""
    relevance_short_answer_words: int = 30
    """...as long as the answer is short too (a long answer that never touches the topic is off-topic)."""
    relevance_lenient_score: float = 0.6
    """Score given in that lenient case: above the veto, below a confident pass."""

    answer_json_embedded_score: float = 0.8
    """JSON that parses only after cutting prose around it is usable but less clean than a bare object."""
    answer_unfenced_code_score: float = 0.6
    """Code-like lines that are not fenced and do not parse alone cannot be checked: mild doubt, no veto."""

    logprob_mean_floor: float = -2.5
    """Mean token logprob at or below which confidence is 0 (the average token had <8% probability)."""
    logprob_mean_ceiling: float = -0.3
    """Mean token logprob at or above which confidence is 1 (the average token had >74% probability)."""
    logprob_min_floor: float = -9.0
    """Weakest-token logprob at or below which that token is treated as a likely guess (p ~ 0.01%)."""
    logprob_min_ceiling: float = -2.5
    """Weakest-token logprob at or above which no single token raises doubt (p >= 8%)."""
    logprob_min_weight: float = 0.3
    """Share of the confidence score that comes from the weakest token; the mean carries the rest."""

    def __post_init__(self) -> None:
        for name in ("veto", "truncated_score", "refusal_max_density", "refusal_passing_score",
                     "repeat_max_ratio", "repeat_line_max_ratio", "gibberish_max_ratio",
                     "relevance_full_coverage", "relevance_lenient_score", "answer_json_embedded_score",
                     "answer_unfenced_code_score", "logprob_min_weight"):  # fmt: skip
            _check_number(f"CheckSettings.{name}", getattr(self, name), hi=1.0)
        for name in ("refusal_lead_chars", "refusal_short_words", "repeat_ngram", "repeat_min_words",
                     "repeat_line_min", "repeat_line_chars", "gibberish_min_words", "entropy_min_chars",
                     "relevance_short_query_words", "relevance_short_answer_words"):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"CheckSettings.{name}", f"must be an integer >= 1, got {value!r}")
        _check_number("CheckSettings.user_weight", self.user_weight)
        _check_number("CheckSettings.entropy_low", self.entropy_low, hi=self.entropy_high)
        _check_number("CheckSettings.entropy_high", self.entropy_high, lo=self.entropy_low)
        for kind in ("mean", "min"):
            floor, ceiling = getattr(self, f"logprob_{kind}_floor"), getattr(self, f"logprob_{kind}_ceiling")
            _check_number(f"CheckSettings.logprob_{kind}_floor", floor, lo=-math.inf, hi=0.0)
            _check_number(f"CheckSettings.logprob_{kind}_ceiling", ceiling, lo=-math.inf, hi=0.0)
            if floor >= ceiling:
                raise ConfigError(f"CheckSettings.logprob_{kind}_floor", f"must be below the ceiling {ceiling}")
        for name, weight in self.weights.items():
            _check_number(f"CheckSettings.weights[{name!r}]", weight)
        object.__setattr__(self, "weights", dict(self.weights))


ValidatorLike: TypeAlias = Callable[..., Any]
"""A validator ``(request, draft, context) -> Verdict | float | bool`` (or an awaitable of one); see
:class:`cascadeflow.cascade.quality.base.Validator` (not imported here: core does not depend on cascade)."""


@dataclass(frozen=True)
class QualityConfig:
    """When is a draft good enough to keep?

    A draft is accepted when its composite quality score reaches the threshold for the query's complexity
    (harder queries ask for more confidence) and no check vetoed it. Presets: :meth:`for_cascade` (0.7),
    :meth:`for_production` (0.80), :meth:`for_development` (0.65), :meth:`strict` (0.95).
    """

    confidence_thresholds: Mapping[str, float] = field(
        default_factory=lambda: dict.fromkeys(COMPLEXITY_LEVELS, 0.7)
    )
    checks: CheckSettings = field(default_factory=CheckSettings)
    validators: Sequence[ValidatorLike] = ()
    """Extra user validators ``(request, draft, context) -> Verdict | float | bool`` (sync or async); each
    one must pass too."""

    def __post_init__(self) -> None:
        thresholds = dict(self.confidence_thresholds)
        unknown = sorted(set(thresholds) - set(COMPLEXITY_LEVELS))
        if unknown:
            raise ConfigError(
                f"QualityConfig.confidence_thresholds[{unknown[0]!r}]",
                f"unknown complexity level; use {list(COMPLEXITY_LEVELS)}",
            )
        for level, value in thresholds.items():
            _check_number(f"QualityConfig.confidence_thresholds[{level!r}]", value, hi=1.0)
        # Levels left out fall back to the strictest given value: never silently looser.
        fallback = max(thresholds.values()) if thresholds else 0.7
        full = {level: float(thresholds.get(level, fallback)) for level in COMPLEXITY_LEVELS}
        object.__setattr__(self, "confidence_thresholds", full)
        object.__setattr__(self, "validators", tuple(self.validators))
        for i, v in enumerate(self.validators):
            if not callable(v):
                raise ConfigError(f"QualityConfig.validators[{i}]", f"must be callable, got {type(v).__name__}")

    def threshold_for(self, complexity: str) -> float:
        return self.confidence_thresholds.get(complexity, self.confidence_thresholds["expert"])

    @classmethod
    def uniform(cls, threshold: float, **kw: Any) -> QualityConfig:
        _check_number("QualityConfig.threshold", threshold, hi=1.0)
        return cls(confidence_thresholds=dict.fromkeys(COMPLEXITY_LEVELS, threshold), **kw)

    @classmethod
    def for_cascade(cls, **kw: Any) -> QualityConfig:
        """Balanced default for cost-saving cascades: accept drafts scoring 0.7 or more."""
        return cls.uniform(0.7, **kw)

    @classmethod
    def for_production(cls, **kw: Any) -> QualityConfig:
        """Fewer accepted drafts, fewer bad answers: 0.80."""
        return cls.uniform(0.80, **kw)

    @classmethod
    def for_development(cls, **kw: Any) -> QualityConfig:
        """Cheap iteration: accept drafts from 0.65."""
        return cls.uniform(0.65, **kw)

    @classmethod
    def strict(cls, **kw: Any) -> QualityConfig:
        """Only near-certain drafts are kept: 0.95."""
        return cls.uniform(0.95, **kw)
