"""The run harness governs framework runs: a budget in enforce mode stops a LangChain chain and an Agents SDK run,
with no governor passed anywhere (the active ``cascadeflow.run()`` session is found by the integrations)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.frameworks.helpers import GOOD, HEDGE, SMALL, require, tool_call, two_tier

import cascadeflow
from cascadeflow import BudgetExceededError

require("langchain_core")
require("agents")

from agents import Agent, Runner, function_tool  # noqa: E402
from langchain_core.language_models.fake_chat_models import FakeListChatModel  # noqa: E402

from cascadeflow.integrations.langchain import CascadeChatModel, CascadeflowCallbackHandler  # noqa: E402
from cascadeflow.integrations.openai_agents import CascadeModel, CascadeRunHooks, govern_tools  # noqa: E402


@pytest.fixture(autouse=True)
def enforce() -> Iterator[None]:
    cascadeflow.reset()
    cascadeflow.init(mode="enforce", instrument=())
    yield
    cascadeflow.reset()


def test_a_run_budget_stops_a_langchain_chain() -> None:
    agent, cheap, dear = two_tier([HEDGE, GOOD], [GOOD])
    llm = CascadeChatModel(agent=agent)
    chain = llm | (lambda m: f"Rephrase: {m.content}") | llm
    with cascadeflow.run(budget=0.0000001) as session, pytest.raises(BudgetExceededError):
        chain.invoke("Sky?")
    assert len(cheap.calls) + len(dear.calls) <= 2  # the second cascade never ran
    assert any(d["action"] == "stop" for d in session.trace())


def test_framework_models_report_into_the_run_through_the_callback_handler() -> None:
    model = FakeListChatModel(responses=["blue", "green"])
    handler = CascadeflowCallbackHandler()  # no governor: the active run is found
    with cascadeflow.run() as session:
        model.invoke("Sky?", config={"callbacks": [handler]})
        model.invoke("Grass?", config={"callbacks": [handler]})
    assert [r.provider for r in session.records] == ["framework", "framework"]
    assert session.summary()["unpriced_calls"] == 2  # a fake model has no price: counted as unknown, not free


@function_tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


async def test_a_run_budget_stops_an_agents_sdk_run() -> None:
    agent_, cheap, dear = two_tier([tool_call(), GOOD], [GOOD])
    assistant = Agent(name="assistant", tools=[get_weather], model=CascadeModel(agent_))
    with cascadeflow.run(budget=0.0000001), pytest.raises(BudgetExceededError):
        await Runner.run(assistant, "Weather in Paris?", hooks=CascadeRunHooks())
    assert len(cheap.calls) <= 1 and dear.calls == []


async def test_the_run_tool_cap_removes_the_extra_tool_call_before_the_sdk_sees_it() -> None:
    calls = [tool_call(call_id="c1"), tool_call(arguments='{"city": "Rome"}', call_id="c2"), GOOD]
    agent_, cheap, _ = two_tier(calls, [])
    assistant = Agent(name="assistant", tools=[get_weather], model=CascadeModel(agent_))
    govern_tools([assistant])
    with cascadeflow.run(max_tool_calls=1) as session:
        result = await Runner.run(assistant, "Weather in Paris and Rome?")
    assert "cap of 1 tool calls is reached" in str(result.final_output)  # said, not silently dropped
    assert [d["action"] for d in session.trace() if d["action"] != "allow"] == ["deny_tool"]
    assert session.summary()["tool_calls"] == 1 and cheap.calls[0].tools and SMALL
