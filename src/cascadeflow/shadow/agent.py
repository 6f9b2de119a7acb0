"""``ShadowAgent``: a :class:`~cascadeflow.agent.CascadeAgent` that learns when its cheap drafts can be kept.

    agent = ShadowAgent(CascadeAgent(models=[...]), settings=ShadowSettings(target_quality=0.95),
                        store="sqlite:///shadow.db")
    result = await agent.run("...")          # answers exactly like the agent; learning happens after

Each cheap tier is judged by an :class:`~cascadeflow.shadow.validator.AdaptiveValidator` (the tier's configured
validator until a fitted policy takes over). After a run, its drafts are recorded; if a cheap draft was kept, with
probability ``rate`` the top tier also answers the request — in a background task, off the caller's path, through
the run hooks (budgets and ledgers see it; its record has kind ``shadow``) — and agreement with that answer is the
drafts' label. Runs that escalated to the top tier are labelled for free. Every ``refit_every`` records the policy
is refitted (:func:`~cascadeflow.shadow.learner.fit_policy`, in a worker thread) and saved in the store, so
replicas share it and a restart resumes from it.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from cascadeflow.cascade.quality.composite import build_validator
from cascadeflow.cascade.quality.self_consistency import same_answer
from cascadeflow.cascade.result import CascadeResult, StepRecord
from cascadeflow.errors import ConfigError
from cascadeflow.shadow.call import shadow_call
from cascadeflow.shadow.learner import fit_policy
from cascadeflow.shadow.policy import FittedPolicy
from cascadeflow.shadow.records import DraftObservation, Outcome, ShadowRecord
from cascadeflow.shadow.settings import ShadowSettings
from cascadeflow.shadow.stores import ShadowStore, open_shadow_store
from cascadeflow.shadow.validator import SCRATCH, AdaptiveValidator, Noted, RunScratch
from cascadeflow.types import CompletionRequest

if TYPE_CHECKING:
    from cascadeflow.agent import CascadeAgent

POLICY_KEY: Final = "policy"
TEXT_OVERLAP: Final = 0.5  # free-text answers agree when they share half their words (as self-consistency)


class ShadowAgent:
    """Wraps ``agent`` (its cheap tiers' validators are replaced in place) and learns from its traffic.

    ``inline=True`` waits for the shadow call and the refit before ``run`` returns (benchmarks, tests: the same
    decisions in the same order every time); the default runs them in the background. ``rng`` decides which
    accepted drafts are shadowed (pass a seeded ``random.Random`` for reproducible runs).
    """

    def __init__(self, agent: CascadeAgent, *, settings: ShadowSettings | None = None,
                 store: str | ShadowStore | None = None, rng: random.Random | None = None,
                 inline: bool = False) -> None:
        engine = agent.engine
        if len(engine.tiers) < 2:
            raise ConfigError("models", "shadow calibration needs at least one cheap tier below the top tier")
        self.agent = agent
        self.settings = settings or ShadowSettings()
        self.store = open_shadow_store(store)
        self.rng = rng or random.Random()
        self.inline = inline
        self.chain = tuple(t.name for t in engine.tiers)
        saved = self.store.load_state(POLICY_KEY)
        self.policy = FittedPolicy.from_json(saved) if saved else FittedPolicy(rate=self.settings.max_rate)
        self.shadow_records: list[StepRecord] = []
        self.shadow_cost = Decimal(0)
        self._since_fit = 0
        self._pending: set[asyncio.Task[None]] = set()
        rules = build_validator(agent.quality_config)
        judges = [AdaptiveValidator(self._current, t.validator or engine.validator, rules) for t in engine.tiers[:-1]]
        engine.tiers = (*(replace(t, validator=j) for t, j in zip(engine.tiers, judges, strict=False)),
                        engine.tiers[-1])

    def _current(self) -> FittedPolicy:
        return self.policy

    async def run(self, query: Any, **kwargs: Any) -> CascadeResult:
        """Answer like the wrapped agent; record the run, maybe shadow it, maybe refit (after the answer)."""
        scratch = RunScratch()
        token = SCRATCH.set(scratch)
        try:
            result = await self.agent.run(query, **kwargs)
        finally:
            SCRATCH.reset(token)
        request = self.agent.build_request(query, **{k: v for k, v in kwargs.items() if k != "on_event"})
        work = self._learn(request, result, scratch.drafts)
        if self.inline:
            await work
        else:
            task = asyncio.ensure_future(work)
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        return result

    async def _learn(self, request: CompletionRequest, result: CascadeResult, noted: Sequence[Noted]) -> None:
        top, query = self.chain[-1], request.query
        costs: dict[str, Decimal] = {}
        for step in result.answers:
            costs[step.model] = costs.get(step.model, Decimal(0)) + step.cost
        if result.model_used == top:
            record = self._record(query, result, noted, result.content, "top", 1.0, costs.get(top, Decimal(0)), costs)
        elif noted and self.rng.random() < self.policy.rate:
            run_id = result.steps[0].run_id if result.steps else uuid.uuid4().hex
            outcome = await shadow_call(self.agent.engine, run_id, request)
            self.shadow_records.append(outcome.record)
            self.shadow_cost += outcome.cost
            answer = None if outcome.completion is None else outcome.completion.content
            record = self._record(query, result, noted, answer, "accepted", self.policy.rate, outcome.cost, costs,
                                  shadow_cost=outcome.cost)
        else:
            record = self._record(query, result, noted, None, "accepted", self.policy.rate, Decimal(0), costs)
        await self._append(record)

    def _record(self, query: str, result: CascadeResult, noted: Sequence[Noted], top_answer: str | None,
                outcome: Outcome, observed: float, top_cost: Decimal, costs: dict[str, Decimal], *,
                shadow_cost: Decimal = Decimal(0)) -> ShadowRecord:
        drafts = tuple(
            DraftObservation(n.tier, n.features, n.score, n.accepted,
                             None if top_answer is None else same_answer(query, n.answer, top_answer, TEXT_OVERLAP),
                             float(costs.get(n.tier, Decimal(0))))
            for n in noted
        )
        return ShadowRecord(uuid.uuid4().hex, time.time(), self.chain, drafts, outcome, observed,
                            shadowed=shadow_cost > 0 or (outcome == "accepted" and top_answer is not None),
                            cost=result.cost, top_cost=top_cost, shadow_cost=shadow_cost)

    async def _append(self, record: ShadowRecord) -> None:
        await asyncio.to_thread(self.store.append, record)
        self._since_fit += 1
        if self._since_fit < self.settings.refit_every:
            return
        records = await asyncio.to_thread(self.store.records, self.settings.window)
        if len(records) < self.settings.min_records:
            return
        self._since_fit = 0
        self.policy = await asyncio.to_thread(fit_policy, records, self.chain, self.settings)
        await asyncio.to_thread(self.store.save_state, POLICY_KEY, self.policy.to_json())

    async def drain(self) -> None:
        """Wait for every shadow call and refit still running."""
        while self._pending:
            await asyncio.gather(*list(self._pending))

    async def aclose(self) -> None:
        await self.drain()
        self.store.close()
        await self.agent.aclose()
