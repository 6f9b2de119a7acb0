"""How :class:`~cascadeflow.cascade_agent.CascadeAgent` wires its parts: one tier per model (built through the
registry or injected, every one through the same wrapper chain, priced, ordered), the wrapper chain itself
(resilience first, then a cache, then the user's layers), the default judge of chains of three or more tiers
(corroboration), and the run hooks (the agent's own plus a cost
tracker's). Kept apart from the agent so each file stays one concern.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

from cascadeflow.cascade.engine import Tier
from cascadeflow.cascade.hooks import RunHooks
from cascadeflow.cascade.quality.base import Validator
from cascadeflow.config import TIER_ORDERS, ModelConfig
from cascadeflow.errors import ConfigError
from cascadeflow.price_sources import DEFAULT_PRICE_SOURCES, PriceSource, build_price_sources
from cascadeflow.pricing import resolve_price
from cascadeflow.providers.protocol import Provider
from cascadeflow.providers.registry import ProviderRegistry
from cascadeflow.providers.resources import ProviderResources
from cascadeflow.providers.wrapper import Layer, WrapperChain

if TYPE_CHECKING:
    from cascadeflow.budget.tracker import CostTracker
    from cascadeflow.traffic.cache_layer import ResponseCache


MIN_TIERS_FOR_CORROBORATION: Final = 3
"""With two tiers an accepted draft must cost the cheap model only; from three on, a middle tier was asked for."""


def corroborate_by_default(tiers: list[Tier], rules: Validator) -> list[Tier]:
    """With three or more tiers and no validator given, cheap tiers without their own validator keep a
    checkable answer (an option, a final number) only when an earlier cheap draft agrees with it
    (:mod:`~cascadeflow.cascade.quality.corroboration`); other answers are judged by the rules alone."""
    if len(tiers) < MIN_TIERS_FOR_CORROBORATION:
        return tiers
    from dataclasses import replace

    from cascadeflow.cascade.quality.corroboration import CorroborationValidator

    judge = CorroborationValidator(rules)
    last = len(tiers) - 1
    return [replace(t, validator=judge) if i < last and t.validator is None else t for i, t in enumerate(tiers)]


def build_tiers(
    models: Sequence[ModelConfig],
    providers: Mapping[str, Provider],
    registry: ProviderRegistry,
    validators: Mapping[str, Validator],
    order: str = "price",
    chain: WrapperChain | None = None,
    resources: ProviderResources | None = None,
    price_sources: Sequence[str | PriceSource] = DEFAULT_PRICE_SOURCES,
) -> list[Tier]:
    if order not in TIER_ORDERS:
        raise ConfigError("tier_order", f"must be one of {list(TIER_ORDERS)}, got {order!r}")
    if isinstance(models, ModelConfig | str | Mapping) or not isinstance(models, Sequence):
        raise ConfigError("models", f"must be a list of ModelConfig, got {type(models).__name__}")
    for name, mapping in (("providers", providers), ("tier_validators", validators)):
        if not isinstance(mapping, Mapping):
            raise ConfigError(name, f"must be a mapping of model name to instance, got {type(mapping).__name__}")
    if not models:
        raise ConfigError("models", "give at least one ModelConfig")
    seen: set[str] = set()
    tiers: list[Tier] = []
    catalogue = build_price_sources(price_sources)  # one read of the on-disk price cache for every tier
    for i, config in enumerate(models):
        if not isinstance(config, ModelConfig):
            raise ConfigError(f"models[{i}]", f"must be a ModelConfig, got {type(config).__name__}")
        if config.name in seen:
            raise ConfigError(f"models[{i}].name", f"duplicate model name {config.name!r}")
        seen.add(config.name)
        provider = providers.get(config.name)
        if provider is None:
            provider = registry.build(config, resources)
        if chain is not None:  # every tier, built or passed in, goes through the same wrappers
            provider = chain.wrap(provider, config)
        price = resolve_price(config, provider_is_free=registry.is_free(config.provider), catalogue=catalogue)
        tiers.append(Tier(config=config, provider=provider, price=price, validator=validators.get(config.name)))
    if order == "given":
        return tiers
    # Cheapest first; ties keep the order the user gave (e.g. two free local models: small, then large).
    return sorted(tiers, key=lambda t: t.price.blended_per_1m)


def tracker_hooks(tracker: CostTracker | None) -> tuple[RunHooks, ...]:
    if tracker is None:
        return ()
    from cascadeflow.budget.agent_hooks import TrackerHooks
    from cascadeflow.budget.tracker import CostTracker

    if not isinstance(tracker, CostTracker):
        raise ConfigError("cost_tracker", f"must be a CostTracker, got {type(tracker).__name__}")
    return (TrackerHooks(tracker),)


def wrapper_chain(resilience: bool | Layer, wrappers: Sequence[Layer], cache: ResponseCache | None) -> WrapperChain:
    if isinstance(wrappers, str) or not isinstance(wrappers, Sequence) or not all(callable(w) for w in wrappers):
        raise ConfigError("wrappers", f"must be a list of layers (provider, config) -> provider, got {wrappers!r}")
    if resilience is True:
        from cascadeflow.resilience.provider import ResilienceLayer

        first: tuple[Layer, ...] = (ResilienceLayer(),)
    elif resilience is False:
        first = ()
    elif callable(resilience):
        first = (resilience,)
    else:
        raise ConfigError("resilience", f"must be True, False or a layer, got {resilience!r}")
    if cache is not None:
        from cascadeflow.traffic.cache_layer import CacheLayer

        if not callable(getattr(cache, "get_request", None)) or not callable(getattr(cache, "set_request", None)):
            raise ConfigError("cache", f"must be a response cache (get_request/set_request), got {cache!r}")
        first = (*first, CacheLayer(cache))
    return WrapperChain((*first, *wrappers))


def check_hooks(hooks: Sequence[RunHooks]) -> tuple[RunHooks, ...]:
    if isinstance(hooks, str) or not isinstance(hooks, Sequence) or not all(isinstance(h, RunHooks) for h in hooks):
        raise ConfigError("hooks", "must be a list of run hooks (on_call_start, on_call_end, on_decision)")
    return tuple(hooks)
