"""CascadePydanticModel under real pydantic-ai: a tool round trip, structured output, streaming, metadata."""

from __future__ import annotations

from tests.frameworks.helpers import GOOD, HEDGE, LARGE, SMALL, require, tool_call, two_tier

require("pydantic_ai")

from pydantic import BaseModel  # noqa: E402
from pydantic_ai import Agent  # noqa: E402
from pydantic_ai.messages import ModelResponse, ToolCallPart  # noqa: E402

from cascadeflow.integrations.pydantic_ai import CascadePydanticModel  # noqa: E402

WEATHER_CALLS: list[str] = []


def weather_agent(model: CascadePydanticModel) -> Agent[None, str]:
    agent: Agent[None, str] = Agent(model, instructions="Use tools for weather.")

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        WEATHER_CALLS.append(city)
        return f"Sunny in {city}"

    return agent


async def test_agent_run_completes_a_tool_round_trip_through_the_cascade() -> None:
    WEATHER_CALLS.clear()
    cascade, cheap, dear = two_tier([tool_call(), HEDGE], [GOOD])
    result = await weather_agent(CascadePydanticModel(cascade)).run("Weather in Paris?")
    assert result.output == GOOD
    assert WEATHER_CALLS == ["Paris"]
    first, second = cheap.calls
    assert first.messages[0].role == "system" and first.messages[0].content == "Use tools for weather."
    assert [t.name for t in first.tools] == ["get_weather"]
    assert [m.role for m in second.messages] == ["system", "user", "assistant", "tool"]
    assert second.messages[3].tool_call_id == "call_1" and second.messages[3].content == "Sunny in Paris"
    responses = [m for m in result.all_messages() if isinstance(m, ModelResponse)]
    assert [r.model_name for r in responses] == [SMALL, LARGE]
    details = responses[-1].provider_details or {}
    assert details["model_used"] == LARGE and details["models_called"] == [SMALL, LARGE]
    assert details["cost"] > 0 and "reason" in details
    assert isinstance(responses[0].parts[0], ToolCallPart)
    assert result.usage.requests == 2 and result.usage.output_tokens > 0
    assert len(dear.calls) == 1


class City(BaseModel):
    name: str
    country: str


async def test_structured_output_through_the_output_tool() -> None:
    cascade, cheap, _ = two_tier([tool_call(name="final_result", arguments='{"name": "Paris", "country": "FR"}')], [])
    agent: Agent[None, City] = Agent(CascadePydanticModel(cascade), output_type=City)
    result = await agent.run("Capital of France?")
    assert result.output == City(name="Paris", country="FR")
    assert cheap.calls[0].tool_choice == "required"  # text is not an allowed answer


async def test_streamed_run_shows_only_the_accepted_answer() -> None:
    cascade, _, _ = two_tier([HEDGE], [GOOD])
    agent: Agent[None, str] = Agent(CascadePydanticModel(cascade))
    async with agent.run_stream("What color is the sky?") as streamed:
        pieces = [piece async for piece in streamed.stream_text(delta=True)]
    assert "".join(pieces) == GOOD
    responses = [m for m in streamed.all_messages() if isinstance(m, ModelResponse)]
    assert responses[-1].model_name == LARGE
    assert (responses[-1].provider_details or {})["model_used"] == LARGE


def test_run_sync_twice_with_one_model() -> None:
    cascade, _, _ = two_tier([GOOD, GOOD], [])
    agent: Agent[None, str] = Agent(CascadePydanticModel(cascade))
    assert agent.run_sync("Sky?").output == GOOD
    assert agent.run_sync("Sky again?").output == GOOD
