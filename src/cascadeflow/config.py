"""User-facing configuration: :class:`ModelConfig` and :class:`QualityConfig`.

These are validated dataclasses rather than pydantic models on purpose: importing pydantic costs ~190 ms on
a 2-core machine, twice the whole import budget of ``from cascadeflow import CascadeAgent``. Every check
raises :class:`~cascadeflow.errors.ConfigError` naming the field, at construction time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any, Final, Literal, TypeAlias

from cascadeflow.errors import ConfigError
from cascadeflow.secret import Secret, as_secret, redact_url
from cascadeflow.validate import check_base_url, check_headers
from cascadeflow.validate import check_int as _check_int
from cascadeflow.validate import check_number as _check_number
from cascadeflow.validate import check_text as _check_text

Complexity: TypeAlias = Literal["trivial", "simple", "moderate", "hard", "expert"]
COMPLEXITY_LEVELS: tuple[Complexity, ...] = ("trivial", "simple", "moderate", "hard", "expert")
TIER_ORDERS: tuple[str, ...] = ("price", "given")
"""How an agent orders its tiers: ``price`` (cheapest first, ties keep your order) or ``given`` (exactly as
listed; the last tier is still the one every escalation ends at)."""

DEFAULT_THRESHOLD: Final = 0.7
"""The acceptance threshold of :meth:`QualityConfig.for_cascade` (the default): on the replayed benchmarks it
keeps most correct cheap drafts while the checks' vetoes still catch refusals and broken answers. Levels a
``QualityConfig(confidence_thresholds=...)`` leaves out keep it."""
MAX_TIMEOUT_S: Final = 3600.0
"""Upper bound of every timeout and deadline: no single LLM call or run legitimately takes an hour, so a larger
value is a unit slip (milliseconds given as seconds) or ``inf``, which would let a dead endpoint hang a run."""
MAX_RETRIES: Final = 10
"""Upper bound of ``max_retries``: with backoff capped at 8 s, ten retries already span over a minute; in a
cascade the next tier is the better fallback, so more is always a mistake (``10**9`` would retry forever)."""
MAX_TOP_LOGPROBS: Final = 20
"""OpenAI's limit for ``top_logprobs``; servers reject larger values."""
DEFAULT_CONNECT_TIMEOUT_S: Final = 5.0
"""Opening a connection (TCP + TLS) to a healthy endpoint takes well under a second, even across continents;
after 5 s the host is down or unreachable, and asking the next tier beats waiting."""
DEFAULT_FIRST_TOKEN_TIMEOUT_S: Final = 15.0
"""A healthy API starts a stream within a few seconds (queueing plus reading a long prompt); 15 s without a
first token means an overloaded or hung endpoint."""
DEFAULT_TIMEOUT_S: Final = 30.0
"""One attempt, from sending the request to the last byte (a whole stream included): a 1,000-token answer at
40-100 tokens/s takes 10-25 s. A longer cap would let one hung endpoint hold a run for minutes (the old 60 s x 3
attempts was 3 minutes before the next tier was asked). Raise it for long answers."""


def _check_timeout(name: str, value: object) -> None:
    _check_number(name, value, lo=0.001, hi=MAX_TIMEOUT_S)


def _check_options(options: object) -> dict[str, Any]:
    """The options every provider shares are checked here; provider-specific ones by the provider."""
    if not isinstance(options, Mapping):
        raise ConfigError("ModelConfig.options", f"must be a mapping, got {type(options).__name__}")
    checked = dict(options)
    if "headers" in checked:
        checked["headers"] = check_headers("ModelConfig.options['headers']", checked["headers"])
    if "top_logprobs" in checked:
        _check_int("ModelConfig.options['top_logprobs']", checked["top_logprobs"], lo=0, hi=MAX_TOP_LOGPROBS)
    if "max_tokens" in checked:
        _check_int("ModelConfig.options['max_tokens']", checked["max_tokens"], lo=1)
    return checked


@dataclass(frozen=True)
class ModelConfig:
    """One model (one tier) of a cascade.

    Price it either with ``cost`` (USD per 1K tokens, blended input/output, as in the documented API) or with
    ``input_price`` and ``output_price`` (USD per 1M tokens). With neither, the price is looked up in the
    ``genai-prices`` catalogue; local and self-hosted presets are free.

    ``api_key`` is held as a :class:`~cascadeflow.secret.Secret`: reprs, logs, errors and pickles show
    ``**********``. Time limits (each bounded by :data:`MAX_TIMEOUT_S`; the defaults' reasons are on the
    ``DEFAULT_*`` constants of this module): ``connect_timeout_s`` to open a connection, ``first_token_timeout_s``
    until a stream's first chunk, ``timeout_s`` for one attempt (a whole answer or stream), and ``deadline_s``
    for the tier as a whole, every attempt and backoff included. ``deadline_s=None`` means one attempt's time
    (``timeout_s``): retries then fit after quick failures (refused connection, 5xx, 429), the ones worth
    retrying, while an attempt that timed out has used the budget and the next tier is asked.
    """

    name: str
    provider: str = "openai"
    cost: float | None = None
    input_price: float | None = None
    output_price: float | None = None
    speed_ms: float | None = None
    supports_tools: bool = True
    base_url: str | None = None
    api_key: str | Secret | None = None
    domains: Sequence[str] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = 2
    quality_threshold: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    first_token_timeout_s: float = DEFAULT_FIRST_TOKEN_TIMEOUT_S
    deadline_s: float | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Facts about the model for governance rules, e.g. ``{"region": "eu", "data_retention": "none"}``
    (compliance packs read them to decide which models may see which data)."""
    domain: str | None = None
    """One domain, as the v0.2.0 plan writes it (``domain='code'``): added to ``domains``. ``"general"`` marks
    a generalist that stays available to every domain (see :mod:`cascadeflow.cascade.routing`)."""

    def __post_init__(self) -> None:
        _check_text("ModelConfig.name", self.name)
        _check_text("ModelConfig.provider", self.provider)
        for name in ("cost", "input_price", "output_price", "speed_ms"):
            value = getattr(self, name)
            if value is not None:
                _check_number(f"ModelConfig.{name}", value)
        if (self.input_price is None) != (self.output_price is None):
            raise ConfigError("ModelConfig.input_price", "give input_price and output_price together (USD per 1M)")
        if self.cost is not None and self.input_price is not None:
            raise ConfigError("ModelConfig.cost", "give either cost (per 1K, blended) or input/output prices, not both")
        if not isinstance(self.supports_tools, bool):
            raise ConfigError("ModelConfig.supports_tools", f"must be True or False, got {self.supports_tools!r}")
        check_base_url(self.base_url)
        if self.api_key is not None and not isinstance(self.api_key, str | Secret):
            raise ConfigError("ModelConfig.api_key", f"must be a string, got {type(self.api_key).__name__}")
        object.__setattr__(self, "api_key", as_secret(self.api_key, source="ModelConfig.api_key"))
        for name in ("timeout_s", "connect_timeout_s", "first_token_timeout_s"):
            _check_timeout(f"ModelConfig.{name}", getattr(self, name))
        if self.deadline_s is not None:
            _check_timeout("ModelConfig.deadline_s", self.deadline_s)
        _check_int("ModelConfig.max_retries", self.max_retries, lo=0, hi=MAX_RETRIES)
        if self.quality_threshold is not None:
            _check_number("ModelConfig.quality_threshold", self.quality_threshold, hi=1.0)
        listed = isinstance(self.domains, Iterable) and not isinstance(self.domains, str)
        domains = tuple(self.domains) if listed else None
        if domains is None or not all(isinstance(d, str) for d in domains):
            raise ConfigError("ModelConfig.domains", f"must be a list of strings, got {self.domains!r}")
        if self.domain is not None:
            _check_text("ModelConfig.domain", self.domain)
            domains = (*domains, self.domain)
        object.__setattr__(self, "domains", tuple(dict.fromkeys(d.strip().lower() for d in domains)))
        object.__setattr__(self, "domain", None)  # folded into domains: one source of truth
        object.__setattr__(self, "options", _check_options(self.options))
        if not isinstance(self.metadata, Mapping) or not all(isinstance(k, str) for k in self.metadata):
            raise ConfigError("ModelConfig.metadata", f"must map strings to values, got {self.metadata!r}")
        object.__setattr__(self, "metadata", dict(self.metadata))

    @property
    def secret_key(self) -> Secret | None:
        """``api_key`` as the :class:`Secret` it is held as (``None`` when no key was given)."""
        key = self.api_key
        return key if isinstance(key, Secret) else None

    @property
    def tier_deadline_s(self) -> float:
        """The most this tier may take in one run, every attempt and backoff included."""
        return self.timeout_s if self.deadline_s is None else self.deadline_s

    def __repr__(self) -> str:
        # base_url may carry credentials (user:pass@, ?key=): masked here, as keys and header values are by
        # their Secret type.
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            shown = redact_url(value) if f.name == "base_url" and isinstance(value, str) else value
            parts.append(f"{f.name}={shown!r}")
        return f"ModelConfig({', '.join(parts)})"

    def __getstate__(self) -> dict[str, Any]:
        """Pickles carry no credentials: the key pickles as a redacted Secret, the URL's user info and query
        values as ``**********`` (building a provider from such a config then says so)."""
        state = dict(self.__dict__)
        if isinstance(state.get("base_url"), str):
            state["base_url"] = redact_url(state["base_url"])
        return state

    def __copy__(self) -> ModelConfig:
        return replace(self)  # in-memory copies keep the credentials; only pickles drop them

    def __deepcopy__(self, memo: dict[int, Any]) -> ModelConfig:
        return replace(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Build from a plain mapping (YAML/JSON/env), rejecting unknown keys by name."""
        if not isinstance(data, Mapping):
            raise ConfigError("ModelConfig", f"must be a mapping of field to value, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"ModelConfig.{unknown[0]}", f"unknown field; known fields: {sorted(known)}")
        return cls(**dict(data))

    def with_(self, **changes: Any) -> ModelConfig:
        return replace(self, **changes)


@dataclass(frozen=True)
class CheckSettings:
    """How the quality checks combine, and overrides of each check's own settings by check name.

    Each check declares its settings, default weight and run order beside itself (one file per check in
    ``cascadeflow.cascade.quality.checks``), so adding a check changes nothing here. The composite validator
    resolves ``weights`` and ``options`` against the checks it finds and raises :class:`ConfigError` naming
    an unknown check or field: a misspelt name is never silently ignored.
    """

    weights: Mapping[str, float] = field(default_factory=dict)
    """Weight by check (or user validator) name, overriding the check's own default; a weight of 0 turns the
    check off. Weights say how much a check counts in the composite score, the weighted mean."""
    veto: float = 0.3
    """A check scoring below this rejects the draft regardless of the weighted mean: 0.3 means the check
    found a concrete defect (refusal phrase, repetition loop, invalid JSON), not mere doubt; an empty or
    looping answer is never "mostly fine"."""
    user_weight: float = 2.0
    """Weight of a user validator not named in ``weights``: the user asked for it, so it counts like the
    strongest built-in checks."""
    options: Mapping[str, object] = field(default_factory=dict)
    """Per check name, that check's settings: an instance of its settings class (e.g. ``RefusalSettings(
    lead_chars=200)``) or a mapping of the fields to change (``{"refusal": {"lead_chars": 200}}``)."""

    def __post_init__(self) -> None:
        _check_number("CheckSettings.veto", self.veto, hi=1.0)
        _check_number("CheckSettings.user_weight", self.user_weight)
        if not isinstance(self.weights, Mapping):
            raise ConfigError("CheckSettings.weights", f"must map check names to weights, got {self.weights!r}")
        for name, weight in self.weights.items():
            _check_number(f"CheckSettings.weights[{name!r}]", weight)
        object.__setattr__(self, "weights", dict(self.weights))
        if not isinstance(self.options, Mapping):
            raise ConfigError("CheckSettings.options", f"must map check names to settings, got {self.options!r}")
        options: dict[str, object] = {}
        for name, value in self.options.items():
            where = f"CheckSettings.options[{name!r}]"
            if not isinstance(name, str):
                raise ConfigError(where, "check names are strings")
            if isinstance(value, Mapping):
                value = dict(value)
            elif not is_dataclass(value) or isinstance(value, type):
                raise ConfigError(where, f"must be the check's settings or a mapping of its fields, got {value!r}")
            options[name] = value
        object.__setattr__(self, "options", options)


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
        default_factory=lambda: dict.fromkeys(COMPLEXITY_LEVELS, DEFAULT_THRESHOLD)
    )
    checks: CheckSettings = field(default_factory=CheckSettings)
    validators: Sequence[ValidatorLike] = ()
    """Extra user validators ``(request, draft, context) -> Verdict | float | bool`` (sync or async); each
    one must pass too."""

    def __post_init__(self) -> None:
        if not isinstance(self.confidence_thresholds, Mapping):
            raise ConfigError(
                "QualityConfig.confidence_thresholds",
                f"must map complexity levels to thresholds, got {self.confidence_thresholds!r} "
                "(for one threshold everywhere use QualityConfig.uniform(value))",
            )
        if not isinstance(self.checks, CheckSettings):
            raise ConfigError("QualityConfig.checks", f"must be a CheckSettings, got {type(self.checks).__name__}")
        if isinstance(self.validators, str) or not isinstance(self.validators, Iterable):
            raise ConfigError("QualityConfig.validators", f"must be a list of callables, got {self.validators!r}")
        thresholds = dict(self.confidence_thresholds)
        unknown = sorted(set(thresholds) - set(COMPLEXITY_LEVELS))
        if unknown:
            raise ConfigError(
                f"QualityConfig.confidence_thresholds[{unknown[0]!r}]",
                f"unknown complexity level; use {list(COMPLEXITY_LEVELS)}",
            )
        for level, value in thresholds.items():
            _check_number(f"QualityConfig.confidence_thresholds[{level!r}]", value, hi=1.0)
        # Levels left out keep the default preset's value (for_cascade, DEFAULT_THRESHOLD): tuning one level
        # changes that level only, as the quickstart's troubleshooting section expects.
        full = {level: float(thresholds.get(level, DEFAULT_THRESHOLD)) for level in COMPLEXITY_LEVELS}
        object.__setattr__(self, "confidence_thresholds", full)
        object.__setattr__(self, "validators", tuple(self.validators))
        for i, v in enumerate(self.validators):
            if not callable(v):
                raise ConfigError(f"QualityConfig.validators[{i}]", f"must be callable, got {type(v).__name__}")

    def threshold_for(self, complexity: str) -> float:
        return self.confidence_thresholds.get(complexity, self.confidence_thresholds["expert"])

    @classmethod
    def uniform(
        cls, threshold: float, *, confidence_thresholds: Mapping[str, float] | None = None, **kw: Any
    ) -> QualityConfig:
        """One threshold for every level; ``confidence_thresholds`` overrides the levels it names (so
        ``for_production(confidence_thresholds={"moderate": 0.75})`` keeps 0.80 elsewhere)."""
        _check_number("QualityConfig.threshold", threshold, hi=1.0)
        if confidence_thresholds is not None and not isinstance(confidence_thresholds, Mapping):
            raise ConfigError("QualityConfig.confidence_thresholds",
                              f"must map complexity levels to thresholds, got {confidence_thresholds!r}")
        levels: dict[str, float] = {**dict.fromkeys(COMPLEXITY_LEVELS, threshold), **(confidence_thresholds or {})}
        return cls(confidence_thresholds=levels, **kw)

    @classmethod
    def for_cascade(cls, **kw: Any) -> QualityConfig:
        """Balanced default for cost-saving cascades: accept drafts scoring 0.7 or more."""
        return cls.uniform(DEFAULT_THRESHOLD, **kw)

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
