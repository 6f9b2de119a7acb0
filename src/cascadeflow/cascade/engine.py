"""The N-tier cascade: try the cheapest suitable tier, judge its draft, escalate only when needed.

Tiers are in the agent's order (cheapest first, or as listed with ``tier_order="given"``); the last is the top
tier. The start tier comes from the query's complexity; every later tier in the plan is really tried in turn.
Each call becomes one :class:`StepRecord` with its action: ``accept`` / ``escalate`` (validator verdict),
``fallback`` (the call failed) or ``final`` (last tier, or the escalation limit reached). If every planned tier
fails, :class:`AllTiersFailedError` lists each cause.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Protocol

from cascadeflow.cascade.calls import Begun, CallGate, ScoreRecorder, new_run_id
from cascadeflow.cascade.deadline import before_deadline
from cascadeflow.cascade.hooks import RunHooks, TierInfo, all_hooks
from cascadeflow.cascade.quality.base import ValidationContext, Validator, Verdict
from cascadeflow.cascade.result import Action, CallKind, CascadeResult, StepRecord
from cascadeflow.config import COMPLEXITY_LEVELS, ModelConfig, QualityConfig
from cascadeflow.errors import AllTiersFailedError, Attempt, ConfigError, MalformedResponseError, ProviderError
from cascadeflow.pricing import Price
from cascadeflow.providers.protocol import Provider
from cascadeflow.providers.wrapper import supports
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_int

if TYPE_CHECKING:
    from cascadeflow.cascade.domain import DomainDetector, DomainResult
    from cascadeflow.cascade.routing import RoutingPolicy


@dataclass(frozen=True, slots=True)
class Tier:
    """One rung of the cascade: a model's config, the provider that calls it, its price, and optionally a
    validator of its own (e.g. agreement with the tier below) instead of the cascade's default."""

    config: ModelConfig
    provider: Provider
    price: Price
    validator: Validator | None = None

    @property
    def name(self) -> str:
        return self.config.name


class ComplexityResultLike(Protocol):
    @property
    def level(self) -> str: ...

    @property
    def signals(self) -> tuple[str, ...]: ...


class ComplexityDetectorLike(Protocol):
    def detect(self, text: str) -> ComplexityResultLike: ...


def _default_start_tiers() -> dict[str, int]:
    # Everything starts at the cheapest tier except "expert" queries, which go straight to the top (-1):
    # a draft there is usually rejected, so trying it only adds cost and latency.
    return {"trivial": 0, "simple": 0, "moderate": 0, "hard": 0, "expert": -1}


@dataclass(frozen=True)
class CascadeOptions:
    """How the engine walks the tiers.

    ``start_tiers`` maps each complexity level to the tier index to start at (negative counts from the top).
    ``max_escalations`` caps how many times a rejected draft may be escalated; the answer of the tier reached
    then is final. ``enable_cascade=False`` sends every request to the top tier only.
    """

    enable_cascade: bool = True
    max_escalations: int | None = None
    start_tiers: Mapping[str, int] = field(default_factory=_default_start_tiers)
    trivial_veto_only: bool = True
    """A *trivial* query ("What color is the sky?") keeps the cheap draft unless a check vetoes it (an empty,
    refusing, looping or malformed answer): the quickstart's "very simple → the cheap model only". Its
    threshold becomes ``CheckSettings.veto``, so a middling score alone never pays for the top tier on a
    lookup; the replayed benchmarks show no quality lost (``python bench/savings.py``). Applies to tiers
    judged by the built-in composite validator only (an agreement or user validator keeps its threshold)."""

    def __post_init__(self) -> None:
        if not isinstance(self.enable_cascade, bool):
            raise ConfigError("enable_cascade", f"must be True or False, got {self.enable_cascade!r}")
        if self.max_escalations is not None:
            check_int("max_escalations", self.max_escalations, lo=0)
        if not isinstance(self.start_tiers, Mapping):
            raise ConfigError("start_tiers", f"must map complexity levels to tier indices, got {self.start_tiers!r}")
        unknown = sorted(set(self.start_tiers) - set(COMPLEXITY_LEVELS), key=str)
        if unknown:
            raise ConfigError(f"start_tiers[{unknown[0]!r}]", f"unknown complexity level; use {COMPLEXITY_LEVELS}")
        for level, index in self.start_tiers.items():
            check_int(f"start_tiers[{level!r}]", index, lo=-(2**31))
        if not isinstance(self.trivial_veto_only, bool):
            raise ConfigError("trivial_veto_only", f"must be True or False, got {self.trivial_veto_only!r}")


class CascadeEngine:
    """Runs one request through the tiers. Stateless between calls; safe to share across tasks."""

    def __init__(
        self,
        tiers: Sequence[Tier],
        *,
        validator: Validator,
        quality: QualityConfig,
        complexity: ComplexityDetectorLike,
        options: CascadeOptions | None = None,
        routing: RoutingPolicy | None = None,
        domain_detector: DomainDetector | None = None,
        hooks: Sequence[RunHooks] = (),
        default_validator: bool = False,
    ) -> None:
        if not tiers:
            raise ConfigError("models", "a cascade needs at least one model")
        self.default_validator = default_validator
        """``validator`` is the built-in composite (so its threshold means a composite score)."""
        self.tiers = tuple(tiers)
        self.hooks = tuple(hooks)
        self.tier_infos = tuple(
            TierInfo(i, t.name, t.config.provider, t.price, t.config) for i, t in enumerate(self.tiers)
        )
        self.validator = validator
        self.quality = quality
        self.complexity = complexity
        self.options = options or CascadeOptions()
        self.routing = routing
        self.domain_detector = domain_detector

    # ----------------------------------------------------------------- planning
    def plan(self, complexity: str, domain: str | None = None) -> tuple[int, ...]:
        """Tier indices to try, in order, for a query of this complexity (and domain, with routing on)."""
        top = len(self.tiers) - 1
        if not self.options.enable_cascade:
            return (top,)
        start = self.options.start_tiers.get(complexity, 0)
        start = min(max(start + len(self.tiers) if start < 0 else start, 0), top)
        if self.routing is None:
            return tuple(range(start, top + 1))
        return self.routing.plan(self.tiers, complexity, domain, start)

    def next_tier(self, plan: tuple[int, ...], position: int) -> Tier | None:
        """The tier planned after ``position``, or None when ``position`` is the last one."""
        return self.tiers[plan[position + 1]] if position + 1 < len(plan) else None

    def threshold(self, tier: Tier, complexity: str) -> float:
        if tier.config.quality_threshold is not None:
            return tier.config.quality_threshold
        threshold = self.quality.threshold_for(complexity)
        if complexity == "trivial" and self.options.trivial_veto_only and tier.validator is None \
                and self.default_validator:
            return min(threshold, self.quality.checks.veto)
        return threshold

    # ----------------------------------------------------------------- judging
    async def judge(self, state: RunState, draft: Completion, index: int, following: int | None) -> Verdict:
        """Run the tier's validator (or the cascade's) over one draft. A validator that asks the next tier to
        score the draft does so through the run's gate, so that call is asked and recorded like any other."""
        tier = self.tiers[index]
        complexity = state.detected.level
        scorer: Provider | None = None
        if following is not None:
            nxt = self.tiers[following]
            scorer = ScoreRecorder(nxt.provider, gate=state.gate, tier=following, name=nxt.name,
                                   provider=nxt.config.provider, price=nxt.price, request=state.request,
                                   prompt_tokens=draft.usage.input_tokens, sink=state.side)
        context = ValidationContext(
            complexity=complexity,
            threshold=self.threshold(tier, complexity),
            tier_index=index,
            tier_count=len(self.tiers),
            model=tier.name,
            previous=tuple(state.drafts),
            previous_models=tuple(state.draft_models),
            next_provider=scorer,
            provider=tier.provider,
        )
        validator = tier.validator or self.validator
        verdict = validator(state.request, draft, context)
        if not isinstance(verdict, Verdict):
            verdict = await verdict
        return verdict

    # ----------------------------------------------------------------- running
    def start(self, request: CompletionRequest) -> RunState:
        """Classify the request and plan the tiers; the state then records every step of this run.

        A complexity level the caller already knows (``metadata["complexity"]``, e.g. from an LLM classifier
        run before the cascade) is used as given. A request with tools skips tiers declared
        ``supports_tools=False``; the skip is said in the result's reason."""
        started = time.perf_counter()
        detected = given_complexity(request) or self.complexity.detect(request.query)
        domain = None if self.domain_detector is None else self.domain_detector.detect(request.query)
        plan = self.plan(detected.level, None if domain is None else domain.domain)
        notes: list[str] = []
        if request.tools:
            plan, notes = self._tool_capable(plan)
        user = request.metadata.get("user_id")
        gate = CallGate(new_run_id(), all_hooks(self.hooks), self.tier_infos, None if user is None else str(user),
                        detected.level)
        return RunState(request=request, detected=detected, plan=plan, started=started, domain=domain, gate=gate,
                        notes=notes)

    def _tool_capable(self, plan: tuple[int, ...]) -> tuple[tuple[int, ...], list[str]]:
        """The planned tiers that can use tools; a ConfigError when none can (never a silent tool-less answer)."""
        able = tuple(i for i in plan if self.tiers[i].config.supports_tools)
        skipped = [self.tiers[i].name for i in plan if i not in able]
        if not able:
            raise ConfigError("tools", f"the request has tools but no planned tier supports them ({', '.join(skipped)}"
                                       " declare supports_tools=False)")
        if not skipped:
            return plan, []
        return able, [f"Skipped {', '.join(skipped)}: the request has tools and "
                      f"{'it does' if len(skipped) == 1 else 'they do'} not support tool calling."]

    async def begin(self, state: RunState, position: int, kind: CallKind) -> Begun:
        """Ask the run's hooks about the call planned at ``position`` (they may change its request or tier). A
        switch that is not final re-plans the rest of the run: the planned tiers above the new one."""
        begun = await state.gate.begin(kind, state.plan[position], state.request, state.plan[position:])
        if begun.switched is not None and not begun.final:
            rest = tuple(i for i in state.plan[position + 1:] if i > begun.tier)
            state.plan = (*state.plan[:position], begun.tier, *rest)
        return begun

    async def run(self, request: CompletionRequest) -> CascadeResult:
        state = self.start(request)
        for position in range(len(state.plan)):
            begun = await self.begin(state, position, "complete")
            tier = self.tiers[begun.tier]
            try:
                answer = await before_deadline(partial(tier.provider.complete, begun.request), request.deadline,
                                               model=tier.name, provider=tier.config.provider)
                completion = check_not_empty(state.gate.answered(begun, answer), tier)
            except ProviderError as exc:
                await self.record_failure(state, position, exc, begun)
                continue
            except BaseException:
                await state.gate.end(begun, None)
                raise
            result = await self.settle(state, position, completion, begun)
            if result is not None:
                return result
        raise AllTiersFailedError(state.attempts)

    async def record_failure(self, state: RunState, position: int, exc: ProviderError, begun: Begun) -> StepRecord:
        """Record a failed call (action ``fallback``); the caller moves on to the next planned tier."""
        index = begun.tier
        tier = self.tiers[index]
        following = self.next_tier(state.plan, position)
        nxt = "no tier left" if following is None else f"falling back to {following.name}"
        step = StepRecord(
            tier=index,
            model=tier.name,
            provider=tier.config.provider,
            action="fallback",
            reason=f"{tier.name} failed ({type(exc).__name__}: {exc.detail}); {nxt}.",
            latency_ms=begun.latency_ms(),
            error=f"{type(exc).__name__}: {exc}",
            **state.gate.stamp(begun),  # type: ignore[arg-type]
        )
        state.attempts.append(Attempt(tier.name, exc))
        state.steps.append(step)
        await state.gate.end(begun, step)
        state.gate.decided(step)
        return step

    async def settle(
        self, state: RunState, position: int, completion: Completion, begun: Begun
    ) -> CascadeResult | None:
        """Judge one tier's answer and record the step. Returns the result when the run is over, else None.

        A call a hook moved to another tier (``begun.switched``) gives the final answer: the run's governance
        chose that tier on purpose, and escalating past it would undo the choice."""
        index = begun.tier
        tier = self.tiers[index]
        level = state.detected.level
        is_final = begun.final or position == len(state.plan) - 1 or (
            self.options.max_escalations is not None and state.escalations >= self.options.max_escalations
        )
        following = None if is_final or position + 1 >= len(state.plan) else state.plan[position + 1]
        verdict = await self.judge(state, completion, index, following)
        if is_final or verdict.passed:
            accepted = verdict.passed and not is_final
            if accepted:
                reason = self._accept_reason(tier, verdict, level)
            elif begun.final and begun.switched is not None:
                reason = f"{tier.name} answered the {level} query instead of the planned tier ({begun.switched})."
            else:
                reason = self._final_reason(tier, level, top=index == len(self.tiers) - 1,
                                            last_planned=position == len(state.plan) - 1)
            action: Action = "accept" if accepted else "final"
            await self._record(state, begun, completion, verdict, action, reason)
            return self._result(state, completion, tier, accepted=accepted)
        assert following is not None  # a non-final position always has a next planned tier
        reason = f"{tier.name} draft {verdict.rejection()}; escalating to {self.tiers[following].name}."
        await self._record(state, begun, completion, verdict, "escalate", reason)
        state.drafts.append(completion)
        state.draft_models.append(tier.name)
        state.escalations += 1
        return None

    async def _record(self, state: RunState, begun: Begun, completion: Completion, verdict: Verdict, action: Action,
                      reason: str) -> None:
        """The tier's step, then the calls made to judge it (verify-by-scoring), in the run's steps."""
        step = self._step(state, begun, completion, verdict, action, reason)
        state.steps.append(step)
        state.steps.extend(state.side)
        state.side.clear()
        await state.gate.end(begun, step)
        state.gate.decided(step)

    # ----------------------------------------------------------------- records
    def _step(self, state: RunState, begun: Begun, completion: Completion, verdict: Verdict, action: Action,
              reason: str) -> StepRecord:
        tier = self.tiers[begun.tier]
        return StepRecord(
            tier=begun.tier,
            model=tier.name,
            provider=tier.config.provider,
            action=action,
            reason=reason,
            usage=completion.usage,
            cost=completion.cost_usd if completion.cost_usd is not None else tier.price.cost(completion.usage),
            latency_ms=begun.latency_ms(),
            verdict=verdict,
            finish_reason=completion.finish_reason,
            usage_estimated=completion.usage_estimated,
            cached=completion.cached,
            **state.gate.stamp(begun),  # type: ignore[arg-type]
        )

    @staticmethod
    def _accept_reason(tier: Tier, verdict: Verdict, complexity: str) -> str:
        return (
            f"{tier.name} draft accepted: quality {verdict.score:.2f} >= threshold "
            f"{verdict.threshold if verdict.threshold is not None else 0:.2f} for a {complexity} query."
        )

    @staticmethod
    def _final_reason(tier: Tier, complexity: str, *, top: bool, last_planned: bool) -> str:
        why = ("it is the top tier" if top else "it is the last tier planned for this query" if last_planned
               else "the escalation limit was reached")
        return f"{tier.name} answered the {complexity} query; its answer is final because {why}."

    def _result(self, state: RunState, completion: Completion, tier: Tier, *, accepted: bool) -> CascadeResult:
        steps = state.steps
        spent = sum((s.cost for s in steps), Decimal(0))
        top_index = len(self.tiers) - 1
        top_steps = [s for s in steps if s.tier == top_index and s.is_answer and s.action != "fallback"]
        baseline = top_steps[0].cost if top_steps else self._baseline(state.request, completion)
        return CascadeResult(
            content=completion.content,
            model_used=tier.name,
            steps=tuple(steps),
            completion=completion,
            draft_accepted=accepted,
            complexity=state.detected.level,
            complexity_signals=tuple(state.detected.signals),
            domain=None if state.domain is None else state.domain.domain,
            reason=" ".join((_summarize(steps), *state.notes)),
            latency_ms=(time.perf_counter() - state.started) * 1000.0,
            cost=spent,
            baseline_cost=baseline,
        )

    def _baseline(self, request: CompletionRequest, completion: Completion) -> Decimal:
        """What the top tier would have charged for a request it did not answer: its provider's own estimate
        when it has one (a replayed recording), else its price for the answer's token counts."""
        top = self.tiers[-1]
        estimate = top.provider.estimate_cost(request) if supports(top.provider, "estimate_cost") else None  # type: ignore[attr-defined]
        return estimate if isinstance(estimate, Decimal) else top.price.cost(completion.usage)


def _summarize(records: Sequence[StepRecord]) -> str:
    """One sentence for the whole run: the deciding step, prefixed by why earlier tiers were passed over."""
    steps = [s for s in records if s.is_answer]
    last = steps[-1]
    if len(steps) == 1:
        return last.reason
    passed_over = ", ".join(
        f"{s.model} ({'failed' if s.action == 'fallback' else 'draft rejected by ' + _decider(s)})" for s in steps[:-1]
    )
    return f"{last.reason[:-1]}, after {passed_over}."


def _decider(step: StepRecord) -> str:
    if step.verdict is None:
        return "validation"
    return f"{step.verdict.decided_by or 'quality'} check"


def check_not_empty(completion: Completion, tier: Tier) -> Completion:
    """An answer with no text and no tool calls is a failure of the endpoint, never a success."""
    if completion.is_empty:
        raise MalformedResponseError(
            "the model returned no content and no tool calls", model=tier.name, provider=tier.config.provider
        )
    return completion


@dataclass(slots=True)
class RunState:
    """Mutable bookkeeping of one run (never shared between runs)."""

    request: CompletionRequest
    detected: ComplexityResultLike
    plan: tuple[int, ...]
    started: float
    steps: list[StepRecord] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    drafts: list[Completion] = field(default_factory=list)
    draft_models: list[str] = field(default_factory=list)
    """The tier name of each of ``drafts``."""
    escalations: int = 0
    domain: DomainResult | None = None
    gate: CallGate = field(default_factory=lambda: CallGate(new_run_id(), (), ()))
    side: list[StepRecord] = field(default_factory=list)
    """Calls made while judging the current draft (verify-by-scoring); filed after its step."""
    notes: list[str] = field(default_factory=list)
    """Sentences about the plan the result's reason adds (tiers skipped because they cannot use tools)."""


@dataclass(frozen=True, slots=True)
class GivenComplexity:
    """A complexity level the caller stated (``metadata["complexity"]``), with the signals that say why."""

    level: str
    signals: tuple[str, ...] = ("given",)


def given_complexity(request: CompletionRequest) -> GivenComplexity | None:
    """The level in ``request.metadata["complexity"]`` (a level name, or ``(level, signals)``), checked."""
    given = request.metadata.get("complexity")
    if given is None:
        return None
    level, signals = (given, ("given",)) if isinstance(given, str) else (given[0], tuple(given[1]))
    if level not in COMPLEXITY_LEVELS:
        raise ConfigError("metadata['complexity']", f"must be one of {list(COMPLEXITY_LEVELS)}, got {level!r}")
    return GivenComplexity(level, signals)
