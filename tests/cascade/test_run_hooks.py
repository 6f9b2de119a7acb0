"""Every provider call of a run leaves one record and passes the run's hooks (the seam governance plugs into)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

import pytest

from cascadeflow import CascadeAgent, FunctionProvider, ModelConfig, QualityConfig, ScriptedProvider
from cascadeflow.cascade.hooks import CallDirective, CallStart, Proceed, SwitchTier, activated
from cascadeflow.cascade.quality.composite import build_validator
from cascadeflow.cascade.quality.verifier_scoring import ScoringVerifier
from cascadeflow.cascade.result import StepRecord
from cascadeflow.errors import BudgetExceededError, ProviderUnavailableError
from cascadeflow.types import Completion, CompletionRequest, Message, TokenLogprob

SKY = "Why is the sky blue?"
GOOD = "The sky is blue because air molecules scatter blue sunlight the most (Rayleigh scattering)."
HEDGE = "I'm not sure, I don't know."


class Recorder:
    """A hook that remembers everything it was told and can be scripted to change or stop calls."""

    def __init__(self, directive: CallDirective | None = None, stop_at: int | None = None) -> None:
        self.starts: list[CallStart] = []
        self.ends: list[tuple[CallStart, StepRecord | None]] = []
        self.decisions: list[StepRecord] = []
        self.answers: list[Completion] = []
        self.directive = directive
        self.stop_at = stop_at

    async def on_call_start(self, call: CallStart) -> CallDirective | None:
        self.starts.append(call)
        if self.stop_at is not None and len(self.starts) > self.stop_at:
            raise BudgetExceededError("over budget", user_id=None, window="run", spent=Decimal(1), limit=Decimal(1))
        return self.directive

    async def on_call_end(self, call: CallStart, record: StepRecord | None) -> None:
        self.ends.append((call, record))

    def on_answer(self, call: CallStart, completion: Completion) -> Completion | None:
        self.answers.append(completion)
        return None

    def on_decision(self, record: StepRecord) -> None:
        self.decisions.append(record)


def two_tiers(
    small: Sequence[object], large: Sequence[object], **kw: object
) -> tuple[CascadeAgent, list[ScriptedProvider]]:
    fakes = [ScriptedProvider(list(small), model="small"), ScriptedProvider(list(large), model="large")]  # type: ignore[arg-type]
    agent = CascadeAgent(
        models=[ModelConfig("small", provider="fake", cost=0.001), ModelConfig("large", provider="fake", cost=0.01)],
        providers={f.model: f for f in fakes}, resilience=False, **kw,  # type: ignore[arg-type]
    )
    return agent, fakes


async def test_every_call_leaves_a_record_and_passes_the_hooks() -> None:
    hook = Recorder()
    agent, _ = two_tiers([ProviderUnavailableError("down", model="small"), GOOD], [GOOD], hooks=[hook])
    before = time.time()
    result = await agent.run(SKY, user_id="ann")
    assert [s.action for s in result.steps] == ["fallback", "final"]
    assert len({s.run_id for s in result.steps}) == 1 and result.steps[0].run_id
    assert all(s.user_id == "ann" and s.started_at >= before for s in result.steps)
    assert [c.tier for c in hook.starts] == [0, 1] and [c.kind for c in hook.starts] == ["complete", "complete"]
    assert [r for _, r in hook.ends] == list(result.steps)
    assert hook.decisions == list(result.steps)
    again = await agent.run(SKY)  # a new run, a new id
    assert again.steps[0].run_id != result.steps[0].run_id


async def test_a_hook_can_shrink_the_request() -> None:
    seen: list[CompletionRequest] = []

    def small(request: CompletionRequest) -> str:
        seen.append(request)
        return GOOD

    class Shrink(Recorder):
        async def on_call_start(self, call: CallStart) -> CallDirective | None:
            await super().on_call_start(call)
            return Proceed(replace(call.request, max_tokens=7))

    agent = CascadeAgent(models=[ModelConfig("small", provider="fake", cost=0.001)], resilience=False,
                         providers={"small": FunctionProvider(small, model="small")}, hooks=[Shrink()])
    await agent.run(SKY, max_tokens=500)
    assert seen[0].max_tokens == 7


async def test_a_hook_can_switch_the_call_to_another_tier_whose_answer_is_final() -> None:
    hook = Recorder()
    agent, (small, _) = two_tiers([], [HEDGE])

    class ToLarge(Recorder):
        async def on_call_start(self, call: CallStart) -> CallDirective | None:
            return SwitchTier(1, call.request, "only the large tier may see this data")

    agent.engine.hooks = (ToLarge(), hook)
    result = await agent.run(SKY)
    assert result.model_used == "large" and not result.draft_accepted  # a hedge, yet final: no tier to undo it
    assert "instead of the planned tier (only the large tier may see this data)" in result.steps[0].reason
    assert small.calls == [] and hook.starts[0].tier == 1


async def test_a_hook_that_stops_the_run_releases_what_earlier_hooks_held() -> None:
    holder, stopper = Recorder(), Recorder(stop_at=0)
    agent, (small, _) = two_tiers([GOOD], [GOOD], hooks=[holder, stopper])
    with pytest.raises(BudgetExceededError):
        await agent.run(SKY)
    assert small.calls == []
    assert holder.ends == [(holder.starts[0], None)] and stopper.ends == []


async def test_a_scoring_call_is_a_record_with_its_cost() -> None:
    class Scorer(FunctionProvider):
        async def score(self, messages: Sequence[Message], text: str) -> tuple[TokenLogprob, ...]:
            return tuple(TokenLogprob(w, -0.05) for w in text.split())

    hook = Recorder()
    verifier = ScoringVerifier(build_validator(QualityConfig.for_cascade()))
    agent = CascadeAgent(
        models=[ModelConfig("small", provider="fake", cost=0.001),
                ModelConfig("large", provider="fake", input_price=2.0, output_price=8.0)],
        providers={"small": FunctionProvider(lambda r: GOOD, model="small"),
                   "large": Scorer(lambda r: GOOD, model="large")},
        tier_validators={"small": verifier}, resilience=False, hooks=[hook],
    )
    result = await agent.run("Explain in two sentences why the sky is blue.")
    kinds = [(s.kind, s.action, s.model) for s in result.steps]
    assert kinds == [("complete", "accept", "small"), ("score", "verify", "large")]
    score = result.steps[1]
    assert score.usage.input_tokens > len(GOOD.split()) and score.usage.output_tokens == 0 and score.usage_estimated
    assert score.cost == Decimal(2) * score.usage.input_tokens / Decimal(1_000_000) > 0
    assert result.cost == result.steps[0].cost + score.cost  # the verifier's call is paid for, and counted
    assert result.draft_accepted and not result.cascaded  # judging a draft is not escalating it
    assert [c.kind for c in hook.starts] == ["complete", "score"]
    assert hook.decisions == [result.steps[0]]  # a verify call carries no cascade decision


async def test_active_hooks_govern_only_the_runs_inside_their_block_and_task() -> None:
    agent, _ = two_tiers([GOOD] * 4, [])
    inside, other = Recorder(), Recorder()

    async def governed() -> None:
        with activated(inside):
            await agent.run(SKY)
            await asyncio.sleep(0)
            await agent.run(SKY)

    async def ungoverned() -> None:
        await asyncio.sleep(0)
        await agent.run(SKY)

    await asyncio.gather(governed(), ungoverned())
    assert len(inside.starts) == 2 and other.starts == []
    with activated(other), activated(inside):  # nested: the outer and the inner both see the call
        await agent.run(SKY)
    assert len(other.starts) == 1 and len(inside.starts) == 3


async def test_streams_pass_the_same_hooks() -> None:
    hook = Recorder()
    agent, _ = two_tiers([HEDGE], [GOOD], hooks=[hook])
    events = [e async for e in agent.stream(SKY)]
    assert [c.kind for c in hook.starts] == ["stream", "stream"]
    assert [r.action for _, r in hook.ends if r is not None] == ["escalate", "final"]
    assert events[-1].type == "final"
