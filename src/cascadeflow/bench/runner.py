"""Replay a cascade over recorded prompts with the real :class:`~cascadeflow.cascade_agent.CascadeAgent`.

Two runs share one set of replay providers:

* :func:`replay_plan` — the cascade exactly as configured (production validators, escalation and Decimal
  accounting); each prompt's final answer is graded with the recorded correctness of the model that gave it.
* :func:`probe_signals` — every tier is called for every prompt: each draft is scored by every accept/reject
  signal (the tier's own validator, the rule checks, agreement) and then escalated, so threshold sweeps and
  AUROCs can be computed offline for any signal from one pass.

Both go through ``CascadeAgent.run_batch`` in chunks, calling ``progress(done, total)`` after each chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from cascadeflow.cascade.quality.agreement import AgreementValidator
from cascadeflow.cascade.quality.base import ValidationContext, Validator, Verdict
from cascadeflow.cascade.quality.learned import LearnedValidator
from cascadeflow.cascade.result import CascadeResult
from cascadeflow.cascade_agent import CascadeAgent
from cascadeflow.config import COMPLEXITY_LEVELS, ModelConfig, QualityConfig
from cascadeflow.providers.replay import RecordedPrompt, ReplayProvider, as_replayed
from cascadeflow.types import Completion, CompletionRequest

Progress = Callable[[int, int], None]
DEFAULT_CONCURRENCY: Final = 32
"""Replayed calls never wait on a network, so concurrency only interleaves validators; 32 keeps the event loop
busy without building thousands of pending tasks at once."""
CHUNK: Final = 128  # prompts per run_batch call: the progress bar moves every chunk


@dataclass(frozen=True, slots=True)
class PromptRun:
    """One prompt's cascade outcome, graded against the recording."""

    prompt_id: str
    dataset: str
    model_used: str
    correct: bool
    cost: Decimal
    steps: tuple[tuple[str, str, float | None], ...]
    """(model, action, validator score) per model call."""


@dataclass(frozen=True)
class ReplayRun:
    tiers: tuple[str, ...]
    runs: list[PromptRun]
    errors: list[tuple[str, str]] = field(default_factory=list)


def replay_models(models: Sequence[ModelConfig]) -> list[ModelConfig]:
    """The same tiers served by replay providers at zero per-token price (the recording holds the cost)."""
    return [as_replayed(m) for m in models]


def build_agent(records: Sequence[RecordedPrompt], agent_kwargs: Mapping[str, Any]) -> CascadeAgent:
    """A CascadeAgent over replay providers; ``agent_kwargs`` as from ``load_cascade_config``. The tiers are
    tried in the order given (replayed tiers have no per-token price to sort by)."""
    kwargs = {"tier_order": "given", **agent_kwargs}
    models = replay_models(kwargs.pop("models"))
    providers = {m.name: ReplayProvider(m.name, records) for m in models}
    return CascadeAgent(models, providers=providers, **kwargs)


async def _run_all(
    agent: CascadeAgent, records: Sequence[RecordedPrompt], concurrency: int, progress: Progress | None
) -> list[CascadeResult | BaseException]:
    results: list[CascadeResult | BaseException] = []
    for start in range(0, len(records), CHUNK):
        chunk = [r.prompt for r in records[start : start + CHUNK]]
        results.extend(await agent.run_batch(chunk, concurrency=concurrency, return_exceptions=True))
        if progress:
            progress(len(results), len(records))
    return results


async def replay_plan(
    records: Sequence[RecordedPrompt],
    agent_kwargs: Mapping[str, Any],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> ReplayRun:
    """Run the configured cascade over every record; failures are collected, not raised."""
    agent = build_agent(records, agent_kwargs)
    tiers = tuple(m.name for m in agent.models)
    outcomes = await _run_all(agent, records, concurrency, progress)
    runs: list[PromptRun] = []
    errors: list[tuple[str, str]] = []
    for record, outcome in zip(records, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            errors.append((record.prompt_id, f"{type(outcome).__name__}: {outcome}"))
            continue
        graded = record.answers[outcome.model_used].correct
        steps = tuple((s.model, s.action, None if s.verdict is None else s.verdict.score) for s in outcome.steps)
        runs.append(PromptRun(record.prompt_id, record.dataset, outcome.model_used, bool(graded), outcome.cost, steps))
    return ReplayRun(tiers, runs, errors)


CONFIG_SIGNAL: Final = "config"
"""The signal name of each tier's configured validator (what the cascade under test really decides with)."""
SignalTable = dict[tuple[str, str], dict[str, float]]
"""(prompt text, model) → signal name → score."""


class _Probe:
    """Scores a draft with every signal, records the scores, then rejects it so the next tier runs too."""

    def __init__(self, signals: Mapping[str, Validator], sink: SignalTable) -> None:
        self.signals = signals
        self.sink = sink

    async def __call__(self, request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        scores: dict[str, float] = {}
        for name, validator in self.signals.items():
            if name == "agreement" and not context.previous:
                continue  # agreement is undefined for the first draft, not "0"
            verdict = validator(request, draft, context)
            if not isinstance(verdict, Verdict):
                verdict = await verdict
            scores[name] = verdict.score
            if name == "rule":
                scores.update({f"check:{check}": value for check, value in verdict.scores.items()})
        self.sink[(request.query, context.model)] = scores
        return Verdict(0.0, False, ("probe: scored, escalating to record the next tier",), (), "probe",
                       context.threshold)


def configured_validators(records: Sequence[RecordedPrompt], agent_kwargs: Mapping[str, Any]) -> dict[str, Validator]:
    """Each tier's validator as the agent really builds it (its own, or the agent's default for that tier)."""
    agent = build_agent(records, agent_kwargs)
    return {t.name: t.validator or agent.engine.validator for t in agent.engine.tiers}


def _signals_for(
    tier: str, configured: Validator, rule: Validator, *, execute_code: bool = False
) -> dict[str, Validator]:
    agreement: Validator = AgreementValidator()
    if execute_code:
        from cascadeflow.cascade.quality.code_behaviour import BehaviourAgreementValidator

        # The configured validator compares the same drafts: share its runner, so each comparison runs once.
        shared = configured.runner if isinstance(configured, BehaviourAgreementValidator) else None
        agreement = BehaviourAgreementValidator(setting="execute_code", runner=shared)
    signals: dict[str, Validator] = {CONFIG_SIGNAL: configured, "rule": rule, "agreement": agreement}
    if execute_code:
        from cascadeflow.cascade.quality.code_selftest import SelfTestValidator

        signals["selftest"] = SelfTestValidator(rule)  # the draft's own claimed examples, run in the sandbox
    if isinstance(configured, LearnedValidator):
        signals["learned"] = configured
    return signals


async def probe_signals(
    records: Sequence[RecordedPrompt],
    agent_kwargs: Mapping[str, Any],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
    execute_code: bool = False,
) -> tuple[tuple[str, ...], SignalTable]:
    """Call every tier on every prompt and record each draft's score under every signal (with
    ``execute_code``, the agreement signal compares code answers by behaviour)."""
    from cascadeflow.cascade.quality.composite import build_validator

    rule = build_validator(QualityConfig.for_cascade())
    models: list[ModelConfig] = list(agent_kwargs["models"])
    sink: SignalTable = {}
    configured = configured_validators(records, agent_kwargs)
    probes = {m.name: _Probe(_signals_for(m.name, configured[m.name], rule, execute_code=execute_code), sink)
              for m in models[:-1]}
    every_tier = dict.fromkeys(COMPLEXITY_LEVELS, 0)
    kwargs = {**agent_kwargs, "tier_validators": probes, "max_escalations": None, "start_tiers": every_tier}
    agent = build_agent(records, kwargs)
    outcomes = await _run_all(agent, records, concurrency, progress)
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    if failed:
        raise failed[0]
    return tuple(m.name for m in agent.models), sink
