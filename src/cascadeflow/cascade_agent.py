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
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from cascadeflow.agent_wiring import build_tiers, check_hooks, corroborate_by_default, tracker_hooks, wrapper_chain
from cascadeflow.cascade.engine import CascadeEngine, CascadeOptions, ComplexityDetectorLike
from cascadeflow.cascade.hooks import RunHooks
from cascadeflow.cascade.quality.base import Validator
from cascadeflow.cascade.result import CascadeResult
from cascadeflow.config import MAX_TIMEOUT_S, ModelConfig, QualityConfig
from cascadeflow.errors import ConfigError
from cascadeflow.price_sources import DEFAULT_PRICE_SOURCES, PriceSource
from cascadeflow.providers.protocol import Provider
from cascadeflow.providers.registry import ProviderRegistry, default_registry
from cascadeflow.providers.resources import ProviderResources
from cascadeflow.providers.wrapper import Layer
from cascadeflow.request_args import apply_options, build_completion_request
from cascadeflow.types import CompletionRequest, Message, ResponseFormat, ToolSpec
from cascadeflow.validate import check_number

if TYPE_CHECKING:
    import logging
    from pathlib import Path

    from cascadeflow.budget.tracker import CostTracker
    from cascadeflow.cascade.domain import DomainDetector
    from cascadeflow.cascade.streaming import StreamEvent
    from cascadeflow.traffic.cache_layer import ResponseCache


class CascadeAgent:
    """Routes each request through a cascade of models, cheapest first.

    Args:
        models: the tiers, any order (they are sorted by price; equal prices keep your order).
        tier_order: ``"price"`` (default: cheapest first) or ``"given"`` (keep the order of ``models``; a
            calibrated plan may ask a stronger cheap model before a cheaper one because it decides more).
        quality_config: when a draft is good enough (default :meth:`QualityConfig.for_cascade`).
        enable_cascade: ``False`` sends everything to the top tier (a baseline to compare against).
        max_escalations: cap on escalations per request (``None``: walk every tier).
        trivial_veto_only: a *trivial* query keeps the cheapest draft unless a check vetoes it (default; see
            :attr:`~cascadeflow.cascade.engine.CascadeOptions.trivial_veto_only`); ``False`` judges it like any other.
        start_tiers: complexity level → tier index to start at (negative counts from the top).
        providers: model name → ready provider instance (e.g. a fake in tests), bypassing the registry. It
            goes through the same wrapper chain as a built one (resilience first).
        resilience: the chain's first layer: ``True`` (default) wraps every tier with its ``ModelConfig``'s
            retries, time limits and a circuit breaker; a :class:`~cascadeflow.resilience.ResilienceLayer`
            to inject sleep/clock; ``False`` for none (providers that already retry, or unit tests).
        wrappers: more layers, applied after resilience in order (e.g. a response cache); each is
            ``(provider, model_config) -> provider`` (see :mod:`cascadeflow.providers.wrapper`).
        hooks: run hooks told about (and able to govern) every provider call of every run of this agent; see
            :mod:`cascadeflow.cascade.hooks`. Hooks a governing layer activates for a run are added to these.
        cost_tracker: a :class:`~cascadeflow.budget.CostTracker`: every call reserves its worst case for the run's
            ``user_id`` (``run(..., user_id=...)``) before it is made and settles at its real cost after
            (shrinking ``max_tokens`` to what is left, degrading to the cheapest tier, or raising
            :class:`~cascadeflow.errors.BudgetExceededError`, as the tracker decides).
        cache: a response cache (:class:`~cascadeflow.traffic.QueryCache`, :class:`~cascadeflow.traffic.RedisCache`):
            exact repeats of a tier's call are answered from it, at no cost (``result.cached``).
        resources: what the providers this agent builds share (e.g. the pool of loaded local models); pass the
            same object to several agents to load each model once. Created (and closed by :meth:`aclose`) if
            not given.
        registry: where provider names are looked up (default: the built-in presets).
        validator: replaces the built-in composite validator for every tier. Without it, chains of three or more
            tiers keep a checkable cheap answer (an option, a final number) only when an earlier cheap draft
            agrees with it (:mod:`~cascadeflow.cascade.quality.corroboration`); two tiers use the rules alone.
        tier_validators: model name → validator for that tier only (e.g. agreement with the tier below).
        domain_rules: per domain, per complexity (``simple``/``medium``/``high`` or the five levels), the model
            names to try in order — the v0.2.0 plan's ``routing.domain_rules`` (see
            :class:`~cascadeflow.cascade.routing.RoutingPolicy`); used with ``enable_domain_routing=True``.
        env_file: ``.env`` values to read into ``os.environ`` for names it does not hold (the real environment
            wins): ``True`` (default) reads ``.env`` in the working directory and beside the script that was
            run, a path reads that file, ``None`` reads none (:mod:`cascadeflow.dotenv`).
        enable_streaming: ``run`` drives the providers' streaming API and reports each
            :class:`~cascadeflow.cascade.streaming.StreamEvent` to its ``on_event`` callback as it happens
            (same decisions and result as the non-streaming path). ``stream`` is available either way.
        kpi_weights: ``{"quality": .., "cost": .., "latency": ..}`` objective for choosing the start tier.
        price_sources: catalogues asked, in order, for models priced neither in their config nor free:
            ``("genai-prices",)`` by default; add ``"litellm"`` for LiteLLM's price map (optional extra), or pass
            your own :class:`~cascadeflow.price_sources.PriceSource`.
        enable_domain_routing: detect the query's domain and prefer tiers whose ``domains`` list it.
        domain_detector: replaces the built-in rule-based domain detector.
        deadline_s: the most one ``run``/``stream`` may take, every tier included (``None``: no overall
            deadline; each built tier is still bounded by its ``ModelConfig.deadline_s``). A call's own
            ``deadline_s=`` overrides it. When it passes, the tier in flight and every later one fail with
            :class:`~cascadeflow.errors.DeadlineExceededError` inside ``AllTiersFailedError``.
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
        trivial_veto_only: bool = True,
        start_tiers: Mapping[str, int] | None = None,
        providers: Mapping[str, Provider] | None = None,
        registry: ProviderRegistry | None = None,
        validator: Validator | None = None,
        tier_validators: Mapping[str, Validator] | None = None,
        complexity_detector: ComplexityDetectorLike | None = None,
        kpi_weights: Mapping[str, float] | None = None,
        enable_domain_routing: bool = False,
        domain_detector: DomainDetector | None = None,
        domain_rules: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        enable_streaming: bool = False,
        deadline_s: float | None = None,
        env_file: bool | str | Path | None = True,
        resilience: bool | Layer = True,
        wrappers: Sequence[Layer] = (),
        hooks: Sequence[RunHooks] = (),
        cost_tracker: CostTracker | None = None,
        cache: ResponseCache | None = None,
        resources: ProviderResources | None = None,
        price_sources: Sequence[str | PriceSource] = DEFAULT_PRICE_SOURCES,
        verbose: bool = False,
    ) -> None:
        for flag, value in (("enable_cascade", enable_cascade), ("enable_domain_routing", enable_domain_routing),
                            ("enable_streaming", enable_streaming), ("verbose", verbose)):
            if not isinstance(value, bool):
                raise ConfigError(flag, f"must be True or False, got {value!r}")
        if quality_config is not None and not isinstance(quality_config, QualityConfig):
            raise ConfigError("quality_config", f"must be a QualityConfig, got {type(quality_config).__name__}")
        if deadline_s is not None:
            check_number("deadline_s", deadline_s, lo=0.001, hi=MAX_TIMEOUT_S)
        self.deadline_s = deadline_s
        _read_env_file(env_file)
        self.quality_config = quality_config or QualityConfig.for_cascade()
        self.registry = registry or default_registry()
        self.resources = resources or ProviderResources()
        self.chain = wrapper_chain(resilience, wrappers, cache)
        self.cost_tracker = cost_tracker
        tiers = build_tiers(models, {} if providers is None else providers, self.registry,
                             {} if tier_validators is None else tier_validators, tier_order, self.chain,
                             self.resources, price_sources)
        default_validator = validator is None
        if validator is None:
            from cascadeflow.cascade.quality.composite import build_validator

            validator = build_validator(self.quality_config)
            tiers = corroborate_by_default(tiers, validator)
        if complexity_detector is None:
            from cascadeflow.cascade.complexity import ComplexityDetector

            complexity_detector = ComplexityDetector()
        options = CascadeOptions(enable_cascade=enable_cascade, max_escalations=max_escalations,
                                 trivial_veto_only=trivial_veto_only)
        if start_tiers is not None:
            options = replace(options, start_tiers=dict(start_tiers) if isinstance(start_tiers, Mapping)
                              else start_tiers)
        routing = None
        if kpi_weights is not None or enable_domain_routing or domain_rules is not None:
            from cascadeflow.cascade.routing import KpiWeights, RoutingPolicy

            weights = None if kpi_weights is None else KpiWeights.parse(kpi_weights)
            routing = RoutingPolicy(weights, enable_domain_routing=enable_domain_routing, domain_rules=domain_rules,
                                    models=[t.name for t in tiers])
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
            hooks=check_hooks(hooks) + tracker_hooks(cost_tracker),
            default_validator=default_validator,
        )
        self.enable_streaming = enable_streaming
        self.verbose = verbose
        self._console: logging.Handler | None = None

    @classmethod
    def from_config(cls, path: str | Path, **overrides: Any) -> CascadeAgent:
        """Build from a cascade YAML file (tiers, per-tier strategy and threshold), e.g. one written by
        ``cascadeflow calibrate``; keyword arguments override the file (e.g. ``providers=`` in tests).
        ``strategies=`` a :class:`~cascadeflow.cascade.strategies.StrategyRegistry` with your own strategies;
        ``quality_config=`` also configures strategies that build on the composite checks (``learned``)."""
        from cascadeflow.cascade.plan_config import load_cascade_config

        strategies = overrides.pop("strategies", None)
        kwargs = load_cascade_config(path, quality=overrides.get("quality_config"), strategies=strategies)
        kwargs.update(overrides)
        return cls(**kwargs)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> CascadeAgent:
        """Build from ``CASCADEFLOW_*`` environment variables (see :mod:`cascadeflow.env_config`)."""
        from cascadeflow.env_config import agent_kwargs_from_env, check_prices

        if environ is None:
            from cascadeflow.dotenv import read_dotenv

            environ = {**read_dotenv(), **os.environ}  # a .env next to the app; the real environment wins
        kwargs = agent_kwargs_from_env(environ)
        if "providers" not in overrides and "models" not in overrides:
            check_prices(kwargs["models"], environ)
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
        stop: str | Sequence[str] | None = None,
        tools: Sequence[ToolSpec | Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        response_format: ResponseFormat | None = None,
        logprobs: bool = False,
        user_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        deadline_s: float | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> CompletionRequest:
        """Validate and normalise the arguments of :meth:`run` into a :class:`CompletionRequest` (see
        :func:`~cascadeflow.request_args.build_completion_request`; ``stop="END"`` is one stop sequence).
        ``deadline_s`` (default: the agent's) starts counting now. ``options`` holds the same arguments as a
        mapping (``run("test", options={"max_tokens": 5})``, as the production guide writes it)."""
        args: dict[str, Any] = {
            "max_tokens": max_tokens, "temperature": temperature, "stop": stop, "tools": tools,
            "tool_choice": tool_choice, "response_format": response_format, "logprobs": logprobs,
            "user_id": user_id, "metadata": metadata, "deadline_s": deadline_s,
        }
        if options is not None:
            args = apply_options(options, args)
        if args["deadline_s"] is None:
            args["deadline_s"] = self.deadline_s
        return build_completion_request(query, **args)

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
        request = await self._classified(self.build_request(query, **kwargs))
        if self.enable_streaming:
            result = await self._run_streaming(request, on_event)
        else:
            result = await self.engine.run(request)
        if self.verbose:
            self._log(result)
        return result

    async def _classified(self, request: CompletionRequest) -> CompletionRequest:
        """An asynchronous complexity classifier (``adetect``, e.g. :class:`~cascadeflow.cascade.llm_complexity.
        LLMComplexityAnalyzer`) runs before the cascade; the engine then uses its level as given."""
        classify = getattr(self.engine.complexity, "adetect", None)
        if classify is None or "complexity" in request.metadata:
            return request
        detected = await classify(request.query)
        metadata = {**request.metadata, "complexity": (detected.level, tuple(detected.signals))}
        return replace(request, metadata=metadata)

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

        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigError("concurrency", f"must be an integer >= 1, got {concurrency!r}")
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
        """Close every provider's connections, then free the shared resources this agent created."""
        for tier in self.engine.tiers:
            await tier.provider.aclose()
        await self.resources.aclose()

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


def _read_env_file(env_file: bool | str | Path | None) -> None:
    """``env_file=True``: the default ``.env`` search; a path: that file; ``None``/``False``: nothing."""
    if env_file is None or env_file is False:
        return
    from cascadeflow.dotenv import load_dotenv

    if env_file is True:
        load_dotenv()
    elif isinstance(env_file, str | os.PathLike):
        load_dotenv(env_file)
    else:
        raise ConfigError("env_file", f"must be True, None or a path, got {env_file!r}")
