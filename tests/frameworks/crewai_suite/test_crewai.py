"""CascadeCrewLLM under the real crewai package (run in its own virtualenv: crewai pins openai<3, the Agents
SDK needs openai>=3). tests/frameworks/test_crewai_env.py runs this file there."""

from __future__ import annotations

import os

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")  # before crewai is imported: no telemetry export
os.environ.setdefault("OTEL_SDK_DISABLED", "true")

from tests.frameworks.helpers import (
    GOOD,
    HEDGE,
    LARGE,
    SMALL,
    cascade_of,
    require,
    tool_call,
    two_tier,
)

require("crewai")

from crewai import Agent, Crew, Task  # noqa: E402
from crewai.tools import tool  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from cascadeflow import Completion, CompletionRequest, FunctionProvider, ScriptedProvider  # noqa: E402
from cascadeflow.integrations.crewai import CascadeCrewLLM  # noqa: E402

WEATHER_CALLS: list[str] = []


@tool("get_weather")
def get_weather(city: str) -> str:
    """Current weather for a city."""
    WEATHER_CALLS.append(city)
    return f"Sunny in {city}"


def test_call_answers_through_the_cascade_with_usage_and_decision() -> None:
    cascade, _, _ = two_tier([HEDGE], [GOOD])
    llm = CascadeCrewLLM(agent=cascade)
    assert llm.call("What color is the sky?") == GOOD
    assert llm.last_result is not None and llm.last_result.model_used == LARGE
    assert llm.decision is not None and llm.decision["models_called"] == [SMALL, LARGE]
    summary = llm.get_token_usage_summary()
    assert summary.completion_tokens == len(HEDGE.split()) + len(GOOD.split())


def test_tool_calls_come_back_for_the_executor_or_run_with_available_functions() -> None:
    cascade, _, _ = two_tier([tool_call(), tool_call()], [])
    llm = CascadeCrewLLM(agent=cascade)
    schema = {"type": "function", "function": {"name": "get_weather", "description": "Weather.",
                                                "parameters": {"type": "object", "properties": {}}}}
    calls = llm.call("Weather in Paris?", tools=[schema])
    assert calls == [{"id": "call_1", "type": "function",
                      "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]
    ran = llm.call("Weather in Paris?", tools=[schema], available_functions={"get_weather": lambda city: city * 2})
    assert ran == "ParisParis"


class City(BaseModel):
    name: str


async def test_acall_with_a_response_model() -> None:
    cascade, cheap, _ = two_tier(['{"name": "Paris"}'], [])
    llm = CascadeCrewLLM(agent=cascade)
    assert await llm.acall("Capital of France?", response_model=City) == City(name="Paris")
    assert cheap.calls[0].response_format == "json"


def test_crew_kickoff_completes_a_tool_round_trip_through_the_cascade() -> None:
    """A real Crew: the cascade's cheap tier asks for the tool, CrewAI runs it, the answer uses its result."""
    WEATHER_CALLS.clear()

    def cheap(request: CompletionRequest) -> str | Completion:
        if any(m.role == "tool" for m in request.messages):
            return "The weather in Paris is sunny today, according to the get_weather tool result."
        return tool_call()

    llm = CascadeCrewLLM(agent=cascade_of(FunctionProvider(cheap, model=SMALL), ScriptedProvider([], model=LARGE)))
    forecaster = Agent(role="Forecaster", goal="Report the weather", backstory="Uses tools.", llm=llm,
                       tools=[get_weather], verbose=False)
    task = Task(description="What is the weather in Paris?", expected_output="One sentence.", agent=forecaster)
    output = Crew(agents=[forecaster], tasks=[task], verbose=False).kickoff()
    assert WEATHER_CALLS == ["Paris"]
    assert "sunny" in str(output).lower()
    assert llm.last_result is not None and llm.last_result.model_used == SMALL
