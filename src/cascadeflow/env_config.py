"""Configuration from environment variables, for ``CascadeAgent.from_env()`` and containers.

    CASCADEFLOW_MODELS="openai:gpt-4o-mini,openai:gpt-4o"         [provider:]name[@cost], cheapest first or any order
    CASCADEFLOW_CODE_MODELS="codellama-70b@0.0008,gpt-3.5-turbo"   tiers whose domains include "code"
    CASCADEFLOW_<DOMAIN>_MODELS=...                                 same for math, medical, legal, finance, general
    CASCADEFLOW_DEFAULT_PROVIDER=openai                             provider of bare names (default: openai)
    CASCADEFLOW_QUALITY_THRESHOLD=0.75                              one acceptance threshold for every complexity
    CASCADEFLOW_KPI_WEIGHTS="quality=0.5,cost=0.3,latency=0.2"      normalised to sum 1
    CASCADEFLOW_ENABLE_DOMAIN_ROUTING=1                             1/0, true/false, yes/no, on/off
    CASCADEFLOW_DEADLINE_S=20                                       the most one run may take, every tier included

``cost`` is USD per 1K tokens (as ``ModelConfig.cost``). The provider is everything before the first ``:``, so
``ollama:llama3.1:8b`` is the model ``llama3.1:8b``; a bare name without ``:`` (``gpt-4o``) gets
``CASCADEFLOW_DEFAULT_PROVIDER`` — ``openai`` by default, the ``ModelConfig`` default, which ``OPENAI_BASE_URL``
points at any OpenAI-compatible server. The cost is what
follows the last ``@``; without one the price comes from the catalogue, and a model it does not know is an
error naming the variable (we never guess a price). A model named in several variables is one tier whose
domains are the union. Setting any ``CASCADEFLOW_<DOMAIN>_MODELS`` turns domain routing on unless
``CASCADEFLOW_ENABLE_DOMAIN_ROUTING`` says otherwise: per-domain models mean nothing without it.
``.env`` files are read by ``CascadeAgent.from_env`` first (:mod:`cascadeflow.dotenv`; the real environment
wins). Every error is a :class:`ConfigError` naming the
variable. The functions take the environment as a mapping, so tests pass a dict.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from cascadeflow.cascade.domain import DOMAINS
from cascadeflow.cascade.routing import KPI_NAMES, KpiWeights
from cascadeflow.config import MAX_TIMEOUT_S, ModelConfig, QualityConfig
from cascadeflow.errors import ConfigError

MODELS_VAR = "CASCADEFLOW_MODELS"
QUALITY_THRESHOLD_VAR = "CASCADEFLOW_QUALITY_THRESHOLD"
KPI_WEIGHTS_VAR = "CASCADEFLOW_KPI_WEIGHTS"
DOMAIN_ROUTING_VAR = "CASCADEFLOW_ENABLE_DOMAIN_ROUTING"
DEADLINE_VAR = "CASCADEFLOW_DEADLINE_S"
DEFAULT_PROVIDER_VAR = "CASCADEFLOW_DEFAULT_PROVIDER"
DEFAULT_PROVIDER = "openai"
"""Bare model names go to the ``ModelConfig`` default: OpenAI's API, or whatever ``OPENAI_BASE_URL`` names."""
_DOMAIN_MODELS_VAR = re.compile(r"CASCADEFLOW_([A-Z0-9_]+)_MODELS")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def parse_model_spec(
    spec: str, *, variable: str, default_provider: str = DEFAULT_PROVIDER
) -> tuple[str, str, float | None]:
    """``[provider:]name[@cost]`` → (provider, name, cost or None); a name without ``:`` gets
    ``default_provider``."""
    text = spec.strip()
    cost: float | None = None
    if "@" in text:
        text, _, raw_cost = text.rpartition("@")
        try:
            cost = float(raw_cost)
        except ValueError:
            raise ConfigError(variable, f"entry {spec!r}: cost after '@' must be a number, got {raw_cost!r}") from None
        if not math.isfinite(cost) or cost < 0:
            raise ConfigError(variable, f"entry {spec!r}: cost must be a finite number >= 0 (USD per 1K tokens)")
    provider, sep, name = text.partition(":")
    if not sep:
        provider, name = default_provider, text
    if not provider.strip() or not name.strip():
        raise ConfigError(variable, f"entry {spec!r}: use [provider:]name[@cost], e.g. openai:gpt-4o-mini")
    return provider.strip(), name.strip(), cost


def _domain_variables(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(variable, domain) for every CASCADEFLOW_<DOMAIN>_MODELS, in DOMAINS order; unknown domains fail."""
    found: dict[str, str] = {}
    for variable in environ:
        match = _DOMAIN_MODELS_VAR.fullmatch(variable)
        if match is None:
            continue
        domain = match.group(1).lower()
        if domain not in DOMAINS:
            raise ConfigError(variable, f"unknown domain {domain!r}; use one of {', '.join(DOMAINS)}")
        found[domain] = variable
    return [(found[d], d) for d in DOMAINS if d in found]


def models_from_env(environ: Mapping[str, str]) -> list[ModelConfig]:
    """The tiers named by CASCADEFLOW_MODELS and CASCADEFLOW_<DOMAIN>_MODELS, merged by model name."""
    order: list[str] = []
    specs: dict[str, tuple[str, float | None, str]] = {}  # name -> (provider, cost, variable that set them)
    domains: dict[str, list[str]] = {}
    sources = [(MODELS_VAR, None), *_domain_variables(environ)]
    fallback = environ.get(DEFAULT_PROVIDER_VAR, "").strip() or DEFAULT_PROVIDER
    for variable, domain in sources:
        for item in environ.get(variable, "").split(","):
            if not item.strip():
                continue
            provider, name, cost = parse_model_spec(item, variable=variable, default_provider=fallback)
            if name not in specs:
                order.append(name)
                specs[name] = (provider, cost, variable)
                domains[name] = []
            else:
                specs[name] = _merge(specs[name], provider, cost, name=name, variable=variable)
            if domain is not None and domain not in domains[name]:
                domains[name].append(domain)
    if not order:
        raise ConfigError(MODELS_VAR, "set at least one model, e.g. openai:gpt-4o-mini,openai:gpt-4o")
    models: list[ModelConfig] = []
    for name in order:
        provider, cost, variable = specs[name]
        try:
            models.append(ModelConfig(name=name, provider=provider, cost=cost, domains=tuple(domains[name])))
        except ConfigError as exc:
            raise ConfigError(variable, f"model {name!r}: {exc}") from exc
    return models


def check_prices(models: list[ModelConfig], environ: Mapping[str, str]) -> None:
    """A model without ``@cost`` must be in the price catalogue (``CascadeAgent.from_env`` checks it before
    building): the error names the variable to fix, not a ModelConfig field the user never wrote."""
    from cascadeflow.price_cache import PriceCache
    from cascadeflow.providers.registry import default_registry

    registry = default_registry()
    catalogue: PriceCache | None = None
    variables: dict[str, str] = {}  # model name -> the first variable naming it
    for variable, _ in [(MODELS_VAR, None), *_domain_variables(environ)]:
        for item in environ.get(variable, "").split(","):
            spec = item.strip().rpartition("@")[0] if "@" in item else item.strip()
            variables.setdefault(spec.split(":", 1)[-1].strip(), variable)
    for model in models:
        if model.cost is not None or registry.is_free(model.provider):
            continue
        catalogue = catalogue or PriceCache()
        if catalogue.lookup(model.name, model.provider) is None:
            raise ConfigError(variables.get(model.name, MODELS_VAR), f"no price known for {model.name!r} (provider "
                              f"{model.provider!r}); give it one: {model.name}@<USD per 1K tokens>")


def _merge(
    known: tuple[str, float | None, str], provider: str, cost: float | None, *, name: str, variable: str
) -> tuple[str, float | None, str]:
    """The same model named twice must agree on provider and on cost (when both give one)."""
    known_provider, known_cost, known_variable = known
    if provider != known_provider:
        raise ConfigError(variable, f"model {name!r} has provider {provider!r} here but {known_provider!r} in "
                                    f"{known_variable}")
    if cost is not None and known_cost is not None and cost != known_cost:
        raise ConfigError(variable, f"model {name!r} costs {cost} here but {known_cost} in {known_variable}")
    return (provider, known_cost if known_cost is not None else cost, known_variable)


def parse_kpi_weights(raw: str, *, variable: str = KPI_WEIGHTS_VAR) -> dict[str, float]:
    """``"quality=0.5,cost=0.3,latency=0.2"`` → normalised weights."""
    weights: dict[str, object] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise ConfigError(variable, f"entry {item.strip()!r}: use name=value with names {', '.join(KPI_NAMES)}")
        if key in weights:
            raise ConfigError(variable, f"{key!r} is given twice")
        try:
            weights[key] = float(value)
        except ValueError:
            raise ConfigError(f"{variable}[{key!r}]", f"must be a number, got {value.strip()!r}") from None
    parsed = KpiWeights.parse(weights, field=variable)
    return {"quality": parsed.quality, "cost": parsed.cost, "latency": parsed.latency}


def parse_bool(raw: str, *, variable: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(variable, f"must be one of {sorted(_TRUE | _FALSE)}, got {raw!r}")


def parse_threshold(raw: str, *, variable: str = QUALITY_THRESHOLD_VAR) -> QualityConfig:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(variable, f"must be a number between 0 and 1, got {raw!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(variable, f"must be between 0 and 1, got {value}")
    return QualityConfig.uniform(value)


def parse_seconds(raw: str, *, variable: str) -> float:
    """A duration in seconds, finite and within (0, MAX_TIMEOUT_S]."""
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(variable, f"must be a number of seconds, got {raw!r}") from None
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT_S:
        raise ConfigError(variable, f"must be a number of seconds above 0 and at most {MAX_TIMEOUT_S:g}, got {raw!r}")
    return value


def agent_kwargs_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments for ``CascadeAgent(**kwargs)``: ``models`` always, the others only when set."""
    kwargs: dict[str, Any] = {"models": models_from_env(environ)}
    if environ.get(QUALITY_THRESHOLD_VAR, "").strip():
        kwargs["quality_config"] = parse_threshold(environ[QUALITY_THRESHOLD_VAR])
    if environ.get(KPI_WEIGHTS_VAR, "").strip():
        kwargs["kpi_weights"] = parse_kpi_weights(environ[KPI_WEIGHTS_VAR])
    if environ.get(DOMAIN_ROUTING_VAR, "").strip():
        kwargs["enable_domain_routing"] = parse_bool(environ[DOMAIN_ROUTING_VAR], variable=DOMAIN_ROUTING_VAR)
    elif any(environ.get(variable, "").strip() for variable, _ in _domain_variables(environ)):
        kwargs["enable_domain_routing"] = True  # per-domain models are declared for routing
    if environ.get(DEADLINE_VAR, "").strip():
        kwargs["deadline_s"] = parse_seconds(environ[DEADLINE_VAR], variable=DEADLINE_VAR)
    return kwargs
