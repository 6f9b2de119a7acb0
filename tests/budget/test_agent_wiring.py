"""``CascadeAgent(cost_tracker=...)`` and ``cache=``: every call reserves, settles, shrinks, degrades or stops."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from cascadeflow import (
    BudgetConfig,
    CascadeAgent,
    CostTracker,
    EnforcementCallbacks,
    EnforcementContext,
    FunctionProvider,
    ModelConfig,
    ScriptedProvider,
)
from cascadeflow.errors import BudgetExceededError, ProviderUnavailableError
from cascadeflow.traffic import QueryCache
from cascadeflow.types import Completion, CompletionRequest, Usage

SKY = "Why is the sky blue?"
GOOD = "The sky is blue because air molecules scatter blue sunlight the most (Rayleigh scattering)."
HEDGE = "I'm not sure, I don't know."


def sized(usage: Usage) -> FunctionProvider:
    """A fake model that answers GOOD with the given token counts and remembers every request."""
    return FunctionProvider(lambda r: Completion(content=GOOD, model="fake", usage=usage))


def agent_with(tracker: CostTracker, **providers: FunctionProvider | ScriptedProvider) -> CascadeAgent:
    prices = {"small": (1.0, 2.0), "large": (10.0, 30.0)}  # USD per 1M input / output tokens
    models = [ModelConfig(name, provider="fake", input_price=prices[name][0], output_price=prices[name][1])
              for name in providers]
    return CascadeAgent(models=models, providers=providers, cost_tracker=tracker, resilience=False)


async def test_each_call_is_reserved_then_committed_at_its_real_cost() -> None:
    tracker = CostTracker(user_budgets={"ann": BudgetConfig(daily=1.0)}, enforcement_mode="enforce")
    small = sized(Usage(120, 40))
    agent = agent_with(tracker, small=small)
    result = await agent.run(SKY, user_id="ann", max_tokens=200)
    (row,) = tracker.records("ann")
    assert (row.model, row.input_tokens, row.output_tokens) == ("small", 120, 40)
    assert row.cost == result.cost == Decimal("0.000200")  # 120 × $1/1M + 40 × $2/1M
    assert tracker.spent("ann", "daily") == result.cost
    assert small.calls[0].max_tokens == 200  # the budget could pay for the whole request: unchanged


async def test_max_tokens_shrinks_to_what_the_budget_can_pay_instead_of_a_refusal() -> None:
    tracker = CostTracker(user_budgets={"bob": BudgetConfig(total=0.001)}, enforcement_mode="enforce")
    small = sized(Usage(50, 10))
    agent = agent_with(tracker, small=small)
    await agent.run(SKY, user_id="bob")  # no max_tokens: 4,096 tokens would cost $0.0082, more than is left
    sent = small.calls[0].max_tokens
    assert sent is not None and 0 < sent < 4096
    prompt_bound = len(SKY.encode()) + 8 + 8
    assert Decimal(prompt_bound) * Decimal("0.000001") + Decimal(sent) * Decimal("0.000002") <= Decimal("0.001")


async def test_a_blocked_call_raises_and_names_user_window_spent_and_limit() -> None:
    tracker = CostTracker(user_budgets={"cy": BudgetConfig(daily=0.0001)}, enforcement_mode="enforce")
    small = sized(Usage(20, 40))  # a real tokenizer never counts more tokens than the prompt's byte bound
    agent = agent_with(tracker, small=small)
    with pytest.raises(BudgetExceededError) as info:
        for _ in range(5):
            await agent.run(SKY, user_id="cy", max_tokens=40)
    err = info.value
    assert err.user_id == "cy" and err.window == "daily" and err.limit == Decimal("0.0001")
    assert err.spent is not None and err.spent <= err.limit
    assert tracker.spent("cy", "daily") <= Decimal("0.0001")


async def test_a_degrade_decision_moves_the_call_to_the_cheapest_tier() -> None:
    def pro_almost_out(ctx: EnforcementContext) -> tuple[str, str | None]:
        return ("degrade", "switching to cheaper models") if ctx.budget_remaining < 0.10 else ("allow", None)

    tracker = CostTracker(user_budgets={"dee": BudgetConfig(daily=0.05)},
                          enforcement_callbacks=EnforcementCallbacks(on_budget_check=pro_almost_out))
    small, large = ScriptedProvider([HEDGE]), ScriptedProvider([GOOD])
    agent = CascadeAgent(
        models=[ModelConfig("small", provider="fake", cost=0.001), ModelConfig("large", provider="fake", cost=0.01)],
        providers={"small": small, "large": large}, cost_tracker=tracker, resilience=False, start_tiers={"simple": 1,
                                                                                                      "moderate": 1},
    )
    result = await agent.run(SKY, user_id="dee", max_tokens=50)
    assert result.model_used == "small" and large.calls == []  # planned for large, degraded to small; final there
    assert "budget degrade" in result.steps[0].reason
    assert [r.model for r in tracker.records("dee")] == ["small"]


async def test_a_failed_call_releases_its_reservation_and_leaves_no_row() -> None:
    tracker = CostTracker(user_budgets={"eve": BudgetConfig(daily=1.0)}, enforcement_mode="enforce")
    small = ScriptedProvider([ProviderUnavailableError("down", model="small")])
    large = sized(Usage(30, 30))
    agent = agent_with(tracker, small=small, large=large)
    result = await agent.run(SKY, user_id="eve", max_tokens=30)
    assert [s.action for s in result.steps] == ["fallback", "final"]
    assert [r.model for r in tracker.records("eve")] == ["large"]
    assert tracker.spent("eve", "daily") == result.cost


async def test_concurrent_runs_never_spend_past_the_budget() -> None:
    tracker = CostTracker(user_budgets={"fay": BudgetConfig(daily=0.002)}, enforcement_mode="enforce")
    small = sized(Usage(20, 100))  # $0.00022 a call: nine fit
    agent = agent_with(tracker, small=small)

    async def one() -> bool:
        try:
            await agent.run(SKY, user_id="fay", max_tokens=100)
        except BudgetExceededError:
            return False
        return True

    served = sum(await asyncio.gather(*(one() for _ in range(50))))
    spent = tracker.spent("fay", "daily")
    worst_case = Decimal(len(SKY.encode()) + 16) * Decimal("0.000001") + 100 * Decimal("0.000002")
    assert spent <= Decimal("0.002")  # never past the budget
    assert Decimal("0.002") - spent < worst_case  # and no call refused while one more could still be paid for
    assert served == len(tracker.records("fay")) == 9


async def test_v020_plan_callbacks_with_a_single_model_agent() -> None:
    """The v0.2.0 plan's enforcement callback, assembled with a single-model agent (a fake stands in for gpt-4)."""
    subscriptions = {"user_123": "free"}

    def my_enforcement_logic(ctx: EnforcementContext) -> tuple[str, str | None]:
        if subscriptions.get(ctx.user_id or "") == "free" and ctx.budget_remaining <= 0:
            return "block", "Upgrade to Pro"
        return "allow", None

    tracker = CostTracker(user_budgets={"user_123": BudgetConfig(daily=0.0002)},
                          enforcement_callbacks=EnforcementCallbacks(on_budget_check=my_enforcement_logic))
    agent = CascadeAgent(models=[ModelConfig(name="gpt-4", provider="fake", cost=0.06)],
                         providers={"gpt-4": sized(Usage(5, 5))}, cost_tracker=tracker)
    await agent.run(query=SKY, user_id="user_123")
    with pytest.raises(BudgetExceededError, match="Upgrade to Pro"):
        await agent.run(query=SKY, user_id="user_123")


async def test_a_cached_answer_costs_nothing_and_says_so() -> None:
    seen: list[CompletionRequest] = []

    def small(request: CompletionRequest) -> Completion:
        seen.append(request)
        return Completion(content=GOOD, model="small", usage=Usage(10, 20))

    cache = QueryCache(ttl=60, max_size=10)
    agent = CascadeAgent(models=[ModelConfig("small", provider="fake", cost=0.001)], cache=cache, resilience=False,
                         providers={"small": FunctionProvider(small)})
    first = await agent.run(SKY, max_tokens=50, user_id="a")
    second = await agent.run(SKY, max_tokens=50, user_id="b")  # metadata is not part of the key
    assert len(seen) == 1 and not first.cached and second.cached
    assert first.cost > 0 and second.cost == 0 and second.steps[0].cached and second.content == first.content
    events = [e async for e in agent.stream(SKY, max_tokens=50)]
    assert len(seen) == 1 and events[-1].result.cached  # type: ignore[union-attr]
    assert cache.get_stats()["hits"] == 2
