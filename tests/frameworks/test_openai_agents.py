"""CascadeModel under the real OpenAI Agents SDK: Runner.run with tools, handoffs, streaming, traces, budgets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from tests.frameworks.helpers import GOOD, HEDGE, LARGE, SMALL, BudgetGovernor, require, tool_call, two_tier

require("agents")

from agents import Agent, ModelSettings, RunConfig, Runner, function_tool  # noqa: E402
from agents.tracing import set_trace_processors  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from cascadeflow import BudgetExceededError  # noqa: E402
from cascadeflow.integrations.openai_agents import (  # noqa: E402
    CascadeModel,
    CascadeModelProvider,
    CascadeRunHooks,
    CascadeTracingProcessor,
    govern_tools,
)

WEATHER_CALLS: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    WEATHER_CALLS.append(city)
    return f"Sunny in {city}"


@pytest.fixture(autouse=True)
def traces() -> Iterator[CascadeTracingProcessor]:
    """Our processor only: the SDK's default exporter would try to send traces to OpenAI."""
    processor = CascadeTracingProcessor()
    set_trace_processors([processor])
    WEATHER_CALLS.clear()
    yield processor
    set_trace_processors([])


async def test_runner_completes_a_function_tool_round_trip_through_the_cascade(
    traces: CascadeTracingProcessor,
) -> None:
    agent_, cheap, dear = two_tier([tool_call(), HEDGE], [GOOD])
    assistant = Agent(name="assistant", instructions="Use tools.", tools=[get_weather], model=CascadeModel(agent_))
    result = await Runner.run(assistant, "Weather in Paris?")
    assert result.final_output == GOOD
    assert WEATHER_CALLS == ["Paris"]
    # turn 1: the cheap tier's tool call was accepted; turn 2: its hedge escalated to the dear tier
    first, second = cheap.calls
    assert [t.name for t in first.tools] == ["get_weather"]
    assert first.messages[0].role == "system" and first.messages[0].content == "Use tools."
    assert [m.role for m in second.messages] == ["system", "user", "assistant", "tool"]
    assert second.messages[2].tool_calls[0].id == second.messages[3].tool_call_id == "call_1"
    assert second.messages[3].content == "Sunny in Paris"
    assert len(dear.calls) == 1
    assert [d["model_used"] for d in traces.decisions] == [SMALL, LARGE]
    assert traces.decisions[1]["models_called"] == [SMALL, LARGE]
    assert traces.decisions[1]["decision"]["steps"][0]["action"] == "escalate"
    usage = result.context_wrapper.usage
    assert usage.requests == 3 and usage.output_tokens > 0  # one call in turn 1, two tiers in turn 2


async def test_handoff_goes_through_the_cascade() -> None:
    french_answer = "Le ciel est bleu par temps clair : l'air diffuse surtout la lumière bleue du ciel."
    agent_, cheap, _ = two_tier([tool_call(name="transfer_to_french_agent", arguments="{}"), french_answer], [])
    model = CascadeModel(agent_)
    french = Agent(name="french_agent", instructions="Answer in French.", model=model)
    triage = Agent(name="triage", instructions="Hand off French questions.", handoffs=[french], model=model)
    result = await Runner.run(triage, "Quelle est la couleur du ciel ?")
    assert result.final_output == french_answer
    assert result.last_agent is french
    assert "transfer_to_french_agent" in [t.name for t in cheap.calls[0].tools]
    assert cheap.calls[1].messages[0].content == "Answer in French."


async def test_streamed_run_emits_only_accepted_text_and_completes_tool_calls() -> None:
    agent_, _, _ = two_tier([tool_call(), HEDGE], [GOOD])
    assistant = Agent(name="assistant", tools=[get_weather], model=CascadeModel(agent_))
    streamed = Runner.run_streamed(assistant, "Weather in Paris?")
    deltas: list[str] = []
    async for event in streamed.stream_events():
        if event.type == "raw_response_event" and event.data.type == "response.output_text.delta":
            deltas.append(event.data.delta)
    assert streamed.final_output == GOOD
    assert "".join(deltas) == GOOD  # the rejected hedge never reached the stream
    assert WEATHER_CALLS == ["Paris"]


async def test_model_provider_serves_the_cascade_to_agents_named_by_string() -> None:
    agent_, cheap, _ = two_tier([GOOD], [])
    assistant = Agent(name="assistant", model="gpt-4o")
    run_config = RunConfig(model_provider=CascadeModelProvider(agent_), tracing_disabled=True)
    result = await Runner.run(assistant, "Sky?", run_config=run_config)
    assert result.final_output == GOOD and len(cheap.calls) == 1


class Answer(BaseModel):
    color: str


async def test_structured_output_uses_json_mode_and_states_the_schema() -> None:
    agent_, cheap, _ = two_tier(['{"color": "blue"}'], [])
    assistant = Agent(name="assistant", output_type=Answer, model=CascadeModel(agent_),
                      model_settings=ModelSettings(temperature=0.0, max_tokens=50))
    result = await Runner.run(assistant, "Sky color?")
    assert result.final_output == Answer(color="blue")
    request = cheap.calls[0]
    assert request.response_format == "json" and request.max_tokens == 50 and request.temperature == 0.0
    assert "color" in json.dumps([m.content for m in request.messages if m.role == "system"])


async def test_budget_in_enforce_mode_stops_the_run_before_the_next_call() -> None:
    agent_, cheap, dear = two_tier([tool_call(), GOOD], [GOOD])
    governor = BudgetGovernor(budget=Decimal("0.0000001"))
    assistant = Agent(name="assistant", tools=[get_weather], model=CascadeModel(agent_, governor=governor))
    with pytest.raises(BudgetExceededError):
        await Runner.run(assistant, "Weather in Paris?", hooks=CascadeRunHooks(governor))
    assert len(cheap.calls) == 1 and dear.calls == []  # the first answer spent the budget
    assert [(m, s) for m, _, _, s in governor.calls] == [(SMALL, "cascade")]


async def test_tool_cap_denies_the_extra_call_and_tells_the_model() -> None:
    calls = [tool_call(call_id="call_1"), tool_call(arguments='{"city": "Rome"}', call_id="call_2"), GOOD]
    agent_, cheap, _ = two_tier(calls, [])
    governor = BudgetGovernor(max_tool_calls=1)
    assistant = Agent(name="assistant", tools=[get_weather], model=CascadeModel(agent_, governor=governor))
    govern_tools([assistant], governor)
    result = await Runner.run(assistant, "Weather in Paris and Rome?")
    assert result.final_output == GOOD
    assert WEATHER_CALLS == ["Paris"]  # the second call was denied, not run
    assert governor.tool_calls == [("get_weather", "cascade", True), ("get_weather", "cascade", False)]
    denied = cheap.calls[2].messages[-1]
    assert denied.role == "tool" and "denied" in (denied.content or "")


async def test_run_hooks_stop_a_run_whose_budget_is_spent_before_any_call() -> None:
    agent_, cheap, _ = two_tier([GOOD], [])
    governor = BudgetGovernor(budget=Decimal(0))
    with pytest.raises(BudgetExceededError):
        await Runner.run(Agent(name="a", model=CascadeModel(agent_)), "Sky?", hooks=CascadeRunHooks(governor))
    assert cheap.calls == [] and governor.started == ["cascadeflow"]
