"""``CascadeAgent``: the documented entry point.

    agent = CascadeAgent(models=[ModelConfig(...), ModelConfig(...)], quality_config=QualityConfig.for_cascade())
    result = await agent.run("What color is the sky?", max_tokens=150)

The agent validates its configuration, orders the models cheapest first (or keeps your order with
``tier_order="given"``, e.g. for a calibrated plan that asks a strong cheap model first), builds one provider per model
(through the provider registry, wrapped with retries and a circuit breaker), and hands each request to the
:class:`~cascadeflow.cascade.engine.CascadeEngine`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cascadeflow.cascade.engine import CascadeEngine, CascadeOptions, ComplexityDetectorLike, Tier
from cascadeflow.cascade.quality.base import Validator
from cascadeflow.cascade.result import CascadeResult
from cascadeflow.config import TIER_ORDERS, ModelConfig, QualityConfig
from cascadeflow.errors import ConfigError
from cascadeflow.price_sources import DEFAULT_PRICE_SOURCES, PriceSource, build_price_sources
from cascadeflow.pricing import resolve_price
from cascadeflow.providers.protocol import Provider
from cascadeflow.providers.registry import ProviderRegistry, default_registry
from cascadeflow.types import CompletionRequest, Message, ResponseFormat, ToolSpec, normalize_messages

if TYPE_CHECKING:
    import logging
    from pathlib import Path

    from cascadeflow.cascade.domain import DomainDetector
    from cascadeflow.cascade.streaming import StreamEvent


def _build_tiers(
    models: Sequence[ModelConfig],
    providers: Mapping[str, Provider],
    registry: ProviderRegistry,
    validators: Mapping[str, Validator],
    order: str = "price",
    price_sources: Sequence[str | PriceSource] = DEFAULT_PRICE_SOURCES,
) -> list[Tier]:
    if order not in TIER_ORDERS:
        raise ConfigError("tier_order", f"must be one of {list(TIER_ORDERS)}, got {order!r}")
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
            # Built providers get timeout, retry and a circuit breaker; injected instances are used as given.
            from cascadeflow.resilience.provider import wrap_resilient

            provider = wrap_resilient(registry.build(config), config)
        price = resolve_price(config, provider_is_free=registry.is_free(config.provider), catalogue=catalogue)
        tiers.append(Tier(config=config, provider=provider, price=price, validator=validators.get(config.name)))
    if order == "given":
        return tiers
    # Cheapest first; ties keep the order the user gave (e.g. two free local models: small, then large).
    return sorted(tiers, key=lambda t: t.price.blended_per_1m)


class CascadeAgent:
    """Routes each request through a cascade of models, cheapest first.

    Args:
        models: the tiers, any order (they are sorted by price; equal prices keep your order).
        tier_order: ``"price"`` (default: cheapest first) or ``"given"`` (keep the order of ``models``; a
            calibrated plan may ask a stronger cheap model before a cheaper one because it decides more).
        quality_config: when a draft is good enough (default :meth:`QualityConfig.for_cascade`).
        enable_cascade: ``False`` sends everything to the top tier (a baseline to compare against).
        max_escalations: cap on escalations per request (``None``: walk every tier).
        start_tiers: complexity level → tier index to start at (negative counts from the top).
        providers: model name → ready provider instance (e.g. a fake in tests), bypassing the registry.
        registry: where provider names are looked up (default: the built-in presets).
        validator: replaces the built-in composite validator for every tier.
        tier_validators: model name → validator for that tier only (e.g. agreement with the tier below).
        enable_streaming: ``run`` drives the providers' streaming API and reports each
            :class:`~cascadeflow.cascade.streaming.StreamEvent` to its ``on_event`` callback as it happens
            (same decisions and result as the non-streaming path). ``stream`` is available either way.
        kpi_weights: ``{"quality": .., "cost": .., "latency": ..}`` objective for choosing the start tier.
        price_sources: catalogues asked, in order, for models priced neither in their config nor free:
            ``("genai-prices",)`` by default; add ``"litellm"`` for LiteLLM's price map (optional extra), or pass
            your own :class:`~cascadeflow.price_sources.PriceSource`.
        enable_domain_routing: detect the query's domain and prefer tiers whose ``domains`` list it.
        domain_detector: replaces the built-in rule-based domain detector.
        verbose: log every step's decision to the ``cascadeflow`` logger (stderr).
    """

    def __init__(
        self,
        models: Sequence[ModelConfig],
        *,
        tier_order: str = "price",
        quality_config: QualityConfig | None = None,
        enable_cascade: bool = True,
        max_escalations: int | None = None,
        start_tiers: Mapping[str, int] | None = None,
        providers: Mapping[str, Provider] | None = None,
        registry: ProviderRegistry | None = None,
        validator: Validator | None = None,
        tier_validators: Mapping[str, Validator] | None = None,
        complexity_detector: ComplexityDetectorLike | None = None,
        kpi_weights: Mapping[str, float] | None = None,
        enable_domain_routing: bool = False,
        domain_detector: DomainDetector | None = None,
        enable_streaming: bool = False,
        verbose: bool = False,
        price_sources: Sequence[str | PriceSource] = DEFAULT_PRICE_SOURCES,
    ) -> None:
        self.quality_config = quality_config or QualityConfig.for_cascade()
        self.registry = registry or default_registry()
        tiers = _build_tiers(models, providers or {}, self.registry, tier_validators or {}, tier_order, price_sources)
        if validator is None:
            from cascadeflow.cascade.quality.composite import build_validator

            validator = build_validator(self.quality_config)
        if complexity_detector is None:
            from cascadeflow.cascade.complexity import ComplexityDetector

            complexity_detector = ComplexityDetector()
        options = CascadeOptions(
            enable_cascade=enable_cascade,
            max_escalations=max_escalations,
            **({"start_tiers": dict(start_tiers)} if start_tiers is not None else {}),
        )
        routing = None
        if kpi_weights is not None or enable_domain_routing:
            from cascadeflow.cascade.routing import KpiWeights, RoutingPolicy

            weights = None if kpi_weights is None else KpiWeights.parse(kpi_weights)
            routing = RoutingPolicy(weights, enable_domain_routing=enable_domain_routing)
        if enable_domain_routing and domain_detector is None:
            from cascadeflow.cascade.domain import DomainDetector

            domain_detector = DomainDetector()
        self.engine = CascadeEngine(
            tiers,
            validator=validator,
            quality=self.quality_config,
            complexity=complexity_detector,
            options=options,
            routing=routing,
            domain_detector=domain_detector if enable_domain_routing else None,
        )
        self.enable_streaming = enable_streaming
        self.verbose = verbose
        self._console: logging.Handler | None = None

    @classmethod
    def from_config(cls, path: str | Path, **overrides: Any) -> CascadeAgent:
        """Build from a cascade YAML file (tiers, per-tier strategy and threshold), e.g. one written by
        ``cascadeflow calibrate``; keyword arguments override the file (e.g. ``providers=`` in tests)."""
        from cascadeflow.cascade.plan_config import load_cascade_config

        kwargs = load_cascade_config(path)
        kwargs.update(overrides)
        return cls(**kwargs)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> CascadeAgent:
        """Build from ``CASCADEFLOW_*`` environment variables (see :mod:`cascadeflow.env_config`)."""
        from cascadeflow.env_config import agent_kwargs_from_env

        kwargs = agent_kwargs_from_env(os.environ if environ is None else environ)
        kwargs.update(overrides)
        return cls(**kwargs)

    @property
    def models(self) -> tuple[ModelConfig, ...]:
        """The tiers' configs in the order they are tried (cheapest first unless ``tier_order="given"``)."""
        return tuple(t.config for t in self.engine.tiers)

    def build_request(
        self,
        query: str | Sequence[Message | Mapping[str, Any]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: Sequence[str] | None = None,
        tools: Sequence[ToolSpec | Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        response_format: ResponseFormat | None = None,
        logprobs: bool = False,
        user_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> CompletionRequest:
        """Validate and normalise the arguments of :meth:`run` into a :class:`CompletionRequest`."""
        if max_tokens is not None and (isinstance(max_tokens, bool) or max_tokens <= 0):
            raise ConfigError("max_tokens", f"must be a positive integer, got {max_tokens!r}")
        if temperature is not None and not 0.0 <= temperature <= 2.0:
            raise ConfigError("temperature", f"must be between 0 and 2, got {temperature!r}")
        meta = dict(metadata or {})
        if user_id is not None:
            meta["user_id"] = user_id
        return CompletionRequest(
            messages=normalize_messages(query),
            max_tokens=max_tokens,
            temperature=temperature,
            stop=tuple(stop or ()),
            tools=tuple(ToolSpec.from_any(t) for t in tools or ()),
            tool_choice=tool_choice,
            response_format=response_format,
            logprobs=logprobs,
            metadata=meta,
        )

    async def run(
        self,
        query: str | Sequence[Message | Mapping[str, Any]],
        *,
        on_event: Callable[[StreamEvent], object] | None = None,
        **kwargs: Any,
    ) -> CascadeResult:
        """Answer one query (a string or a list of chat messages). Keyword arguments: see :meth:`build_request`.

        With ``enable_streaming=True`` the answer is streamed and ``on_event`` sees every event as it arrives.
        """
        request = self.build_request(query, **kwargs)
        if self.enable_streaming:
            result = await self._run_streaming(request, on_event)
        else:
            result = await self.engine.run(request)
        if self.verbose:
            self._log(result)
        return result

    async def run_batch(
        self,
        queries: Sequence[str | Sequence[Message | Mapping[str, Any]]],
        *,
        concurrency: int = 4,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[CascadeResult | BaseException]:
        """Answer many queries with at most ``concurrency`` in flight; results keep the input order.

        With ``return_exceptions=True`` a failed query yields its exception in place instead of aborting.
        """
        import asyncio

        if concurrency < 1:
            raise ConfigError("concurrency", f"must be >= 1, got {concurrency}")
        gate = asyncio.Semaphore(concurrency)

        async def one(q: str | Sequence[Message | Mapping[str, Any]]) -> CascadeResult:
            async with gate:
                return await self.run(q, **kwargs)

        results = await asyncio.gather(*(one(q) for q in queries), return_exceptions=return_exceptions)
        return list(results)

    async def _run_streaming(
        self, request: CompletionRequest, on_event: Callable[[StreamEvent], object] | None
    ) -> CascadeResult:
        from cascadeflow.cascade.streaming import FinalResult, stream_cascade

        async for event in stream_cascade(self.engine, request):
            if on_event is not None:
                on_event(event)
            if isinstance(event, FinalResult):
                return event.result
        raise AssertionError("stream_cascade ends with a FinalResult or raises")  # pragma: no cover

    def stream(
        self, query: str | Sequence[Message | Mapping[str, Any]], *, buffered: bool = False, **kwargs: Any
    ) -> AsyncIterator[StreamEvent]:
        """Stream typed events: draft chunks, escalations, the next tier's chunks, then the final result.

        ``buffered=True`` validates each draft before showing any of it, so rejected text is never shown.
        """
        from cascadeflow.cascade.streaming import stream_cascade

        return stream_cascade(self.engine, self.build_request(query, **kwargs), buffered=buffered)

    async def aclose(self) -> None:
        """Close every provider's connections."""
        for tier in self.engine.tiers:
            await tier.provider.aclose()

    async def __aenter__(self) -> CascadeAgent:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _log(self, result: CascadeResult) -> None:
        """``verbose=True``: one INFO record per step on the ``cascadeflow`` logger. When the application has
        configured no logging at all, the records go to stderr through a handler this agent holds — never one
        attached to the library's logger (a library only emits records)."""
        import logging

        logger = logging.getLogger("cascadeflow")
        configured = logger.hasHandlers()
        if not configured and self._console is None:
            self._console = logging.StreamHandler()
        for step in result.steps:
            args = (step.tier, step.model, step.reason)
            if configured:
                logger.info("[cascadeflow] tier %d %s: %s", *args)
            elif self._console is not None:
                self._console.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 0,
                                                       "[cascadeflow] tier %d %s: %s", args, None))
