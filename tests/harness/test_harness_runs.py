"""Governed runs: modes, the decision trace, summaries, nesting, concurrency, the decorator and stats."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal

import pytest

import cascadeflow
from cascadeflow import CascadeAgent, FunctionProvider, ModelConfig, ScriptedProvider
from cascadeflow.errors import BudgetExceededError, ConfigError
from cascadeflow.types import Completion, CompletionRequest, Usage

SKY = "Why is the sky blue?"
GOOD = "The sky is blue because air molecules scatter blue sunlight the most (Rayleigh scattering)."
HEDGE = "I'm not sure, I don't know."


@pytest.fixture(autouse=True)
def fresh_harness() -> Iterator[None]:
    cascadeflow.reset()
    yield
    cascadeflow.reset()


def answering(usage: Usage | None = None, text: str = GOOD) -> FunctionProvider:
    """A fake model that, like a real one, never answers with more tokens than ``max_tokens`` allows."""
    usage = usage or Usage(20, 30)

    def answer(request: CompletionRequest) -> Completion:
        out = min(usage.output_tokens, request.max_tokens or usage.output_tokens)
        return Completion(content=text, model="fake", usage=Usage(usage.input_tokens, out))

    return FunctionProvider(answer)


def two_tier(small: FunctionProvider | ScriptedProvider, large: FunctionProvider | ScriptedProvider) -> CascadeAgent:
    return CascadeAgent(
        models=[ModelConfig("small", provider="fake", input_price=1.0, output_price=2.0),
                ModelConfig("large", provider="fake", input_price=10.0, output_price=30.0)],
        providers={"small": small, "large": large}, resilience=False,
    )


async def test_observe_tracks_everything_and_changes_nothing() -> None:
    cascadeflow.init(mode="observe", instrument=())
    agent = two_tier(ScriptedProvider([HEDGE]), answering())
    with cascadeflow.run() as session:
        result = await agent.run(SKY, max_tokens=100)
        summary = session.summary()
    assert result.model_used == "large"
    assert summary["steps"] == 2 and summary["cost_total"] == pytest.approx(float(result.cost))
    assert summary["latency_total_ms"] > 0 and summary["calls_per_model"] == {"small": 1, "large": 1}
    assert [d["action"] for d in session.trace()] == ["allow", "allow"]


async def test_off_tracks_nothing() -> None:
    cascadeflow.init(mode="off", instrument=())
    agent = two_tier(answering(), answering())
    with cascadeflow.run(budget=0.0000001) as session:  # a budget that would stop any call: not even looked at
        await agent.run(SKY)
    assert session.summary()["steps"] == 0 and session.trace() == []


def test_the_mode_comes_from_the_environment_and_bad_values_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASCADEFLOW_MODE", "enforce")
    assert cascadeflow.init(instrument=()).mode == "enforce"
    monkeypatch.delenv("CASCADEFLOW_MODE")
    assert cascadeflow.init(instrument=()).mode == "observe"
    with pytest.raises(ConfigError, match="mode: must be one of off, observe, enforce, got 'enforced'"):
        cascadeflow.init(mode="enforced")
    with pytest.raises(ConfigError, match="bugdet: unknown run argument"):
        cascadeflow.run(bugdet=1.0)


async def scripted_budget_run(mode: str) -> tuple[list[str], list[str], list[str]]:
    """A run whose budget pays for one full answer, then for a shrunk one, then for nothing."""
    cascadeflow.init(mode=mode, instrument=())
    seen: list[CompletionRequest] = []

    def large(request: CompletionRequest) -> Completion:
        seen.append(request)
        return Completion(content=GOOD, model="large", usage=Usage(20, request.max_tokens or 100))

    agent = CascadeAgent(models=[ModelConfig("large", provider="fake", input_price=10.0, output_price=30.0)],
                         providers={"large": FunctionProvider(large)}, resilience=False)
    answers: list[str] = []
    with cascadeflow.run(budget=0.0045) as session:
        for _ in range(3):
            try:
                answers.append((await agent.run(SKY, max_tokens=100)).content)
            except BudgetExceededError:
                answers.append("stopped")
    actions = [d["action"] for d in session.trace()]
    return answers, actions, [str(r.max_tokens) for r in seen]


async def test_observe_records_exactly_the_actions_enforce_takes() -> None:
    observed_answers, observed, observed_sent = await scripted_budget_run("observe")
    enforced_answers, enforced, enforced_sent = await scripted_budget_run("enforce")
    assert observed == enforced == ["allow", "degrade", "stop"]  # the same decisions, step by step
    assert observed_answers == [GOOD, GOOD, GOOD] and observed_sent == ["100", "100", "100"]  # nothing applied
    assert enforced_answers == [GOOD, GOOD, "stopped"] and enforced_sent[0] == "100" and int(enforced_sent[1]) < 100


async def test_a_stopped_run_can_be_extended_and_keeps_its_trace() -> None:
    cascadeflow.init(mode="enforce", instrument=())
    agent = two_tier(answering(), answering())
    with cascadeflow.run(budget=0.00001) as session:
        with pytest.raises(BudgetExceededError) as info:
            await agent.run(SKY, max_tokens=100)
        assert info.value.window == "run" and info.value.limit == Decimal("0.00001")
        assert session.summary()["stopped"]
        session.extend(budget=1.0)
        result = await agent.run(SKY, max_tokens=100)
    assert result.content == GOOD
    assert [d["action"] for d in session.trace()] == ["stop", "allow"]
    assert session.remaining()["budget"] == pytest.approx(1.00001 - float(result.cost))


async def test_nested_runs_count_against_the_outer_budget() -> None:
    cascadeflow.init(mode="enforce", instrument=())
    agent = two_tier(answering(Usage(20, 30)), answering())
    with cascadeflow.run(budget=1.0) as outer:
        with cascadeflow.run(budget=0.5) as inner:
            await agent.run(SKY, max_tokens=50)
        await agent.run(SKY, max_tokens=50)
    assert inner.summary()["steps"] == 1 and outer.summary()["steps"] == 2
    assert outer.summary()["cost_total"] == pytest.approx(2 * inner.summary()["cost_total"])


async def test_concurrent_runs_stay_apart_and_never_pass_their_budgets() -> None:
    cascadeflow.init(mode="enforce", instrument=())
    agent = CascadeAgent(models=[ModelConfig("small", provider="fake", input_price=1.0, output_price=2.0)],
                         providers={"small": answering(Usage(20, 50))}, resilience=False)
    per_run = Decimal("0.00035")  # a 50-token answer costs ~$0.00012 here, its worst case ~$0.00017

    async def task(i: int) -> cascadeflow.RunSession:
        async with cascadeflow.run(budget=per_run, user_id=f"u{i}") as session:
            for _ in range(4):
                try:
                    await agent.run(SKY, max_tokens=50)
                except BudgetExceededError:
                    break
                await asyncio.sleep(0)
        return session

    with cascadeflow.run(budget=10.0) as outer:
        sessions = await asyncio.gather(*(task(i) for i in range(200)))
    for session in sessions:
        summary = session.summary()
        assert Decimal(str(summary["cost_total"])) <= per_run  # never past its own budget
        assert summary["steps"] == len(session.records) == 3  # its own calls only, not a neighbour's
        assert [d["action"] for d in session.trace()] == ["allow", "allow", "degrade", "stop"]  # the 3rd shrunk
    assert outer.summary()["steps"] == 600
    assert outer.summary()["cost_total"] == pytest.approx(sum(s.summary()["cost_total"] for s in sessions))


async def test_the_decorator_makes_a_run_per_call_and_stats_add_them_up() -> None:
    cascadeflow.init(mode="observe", instrument=())
    agent = two_tier(answering(), answering())

    @cascadeflow.agent(budget=0.10, kpi_weights={"cost": 0.9, "quality": 0.1})
    async def triage_agent(query: str) -> str:
        return (await agent.run(query, max_tokens=40)).content

    @cascadeflow.agent(budget=2.00, compliance="hipaa", kpi_weights={"quality": 0.9, "cost": 0.1})
    def medical_agent(query: str) -> str:
        return asyncio.run(agent.run(query, max_tokens=40)).content

    await triage_agent(SKY)
    await triage_agent(SKY)
    await asyncio.to_thread(medical_agent, SKY)
    stats = cascadeflow.stats()
    assert stats["runs"] == 3 and stats["completion_rate"] == 1.0
    assert set(stats["cost_per_agent"]) == {"test_the_decorator_makes_a_run_per_call_and_stats_add_them_up."
                                            "<locals>.triage_agent",
                                            "test_the_decorator_makes_a_run_per_call_and_stats_add_them_up."
                                            "<locals>.medical_agent"}
    assert stats["suggested_budget_cap"] >= stats["run_cost_p95"] > 0


async def test_decisions_reach_subscribers() -> None:
    seen: list[cascadeflow.Decision] = []
    cascadeflow.init(mode="enforce", instrument=(), on_decision=seen.append)
    agent = two_tier(answering(), answering())
    with cascadeflow.run(budget=0.000001), pytest.raises(BudgetExceededError):
        await agent.run(SKY, max_tokens=100)
    assert [d.action for d in seen] == ["stop"] and seen[0].applied and seen[0].policy == "budget"
