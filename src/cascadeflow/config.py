"""User-facing configuration: :class:`ModelConfig` and :class:`QualityConfig`.

These are validated dataclasses rather than pydantic models on purpose: importing pydantic costs ~190 ms on
a 2-core machine, twice the whole import budget of ``from cascadeflow import CascadeAgent``. Every check
raises :class:`~cascadeflow.errors.ConfigError` naming the field, at construction time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from cascadeflow.errors import ConfigError

if TYPE_CHECKING:
    from cascadeflow.cascade.quality.base import Validator

Complexity: TypeAlias = Literal["trivial", "simple", "moderate", "hard", "expert"]
COMPLEXITY_LEVELS: tuple[Complexity, ...] = ("trivial", "simple", "moderate", "hard", "expert")


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
    domains: tuple[str, ...] = ()
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

    Weights say how much each check counts in the composite score; a check whose score falls below its
    ``veto`` level rejects the draft on its own (an empty or looping answer is never "mostly fine").
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

    def __post_init__(self) -> None:
        _check_number("CheckSettings.veto", self.veto, hi=1.0)
        for name, weight in self.weights.items():
            _check_number(f"CheckSettings.weights[{name!r}]", weight)
        object.__setattr__(self, "weights", dict(self.weights))


ValidatorLike: TypeAlias = "Validator | Callable[..., Any]"


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
