"""CascadeChatCompletionClient under real autogen-agentchat: an AssistantAgent's tool round trip and streams."""

from __future__ import annotations

from tests.frameworks.helpers import GOOD, HEDGE, LARGE, SMALL, require, tool_call, two_tier

require("autogen_agentchat")

import pytest  # noqa: E402
from autogen_agentchat.agents import AssistantAgent  # noqa: E402
from autogen_agentchat.messages import TextMessage, ToolCallExecutionEvent, ToolCallRequestEvent  # noqa: E402
from autogen_core.models import CreateResult, SystemMessage, UserMessage  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from cascadeflow import CascadeResult  # noqa: E402
from cascadeflow.integrations.autogen import CascadeChatCompletionClient  # noqa: E402

WEATHER_CALLS: list[str] = []


async def get_weather(city: str) -> str:
    """Current weather for a city."""
    WEATHER_CALLS.append(city)
    return f"Sunny in {city}"


async def test_assistant_agent_completes_a_tool_round_trip_through_the_cascade() -> None:
    WEATHER_CALLS.clear()
    cascade, cheap, dear = two_tier([tool_call(), HEDGE], [GOOD])
    seen: list[CascadeResult] = []
    client = CascadeChatCompletionClient(cascade, on_result=seen.append)
    agent = AssistantAgent("assistant", model_client=client, tools=[get_weather], reflect_on_tool_use=True,
                           system_message="Use tools for weather.")
    result = await agent.run(task="Weather in Paris?")
    assert WEATHER_CALLS == ["Paris"]
    kinds = [type(m) for m in result.messages]
    assert ToolCallRequestEvent in kinds and ToolCallExecutionEvent in kinds
    final = result.messages[-1]
    assert isinstance(final, TextMessage) and final.content == GOOD
    assert [r.model_used for r in seen] == [SMALL, LARGE]
    assert client.last_result is not None and client.last_result.model_used == LARGE
    second = cheap.calls[1]
    assert [m.role for m in second.messages] == ["system", "user", "assistant", "tool"]
    assert second.messages[3].tool_call_id == "call_1" and second.messages[3].content == "Sunny in Paris"
    assert len(dear.calls) == 1
    assert client.total_usage().completion_tokens > client.actual_usage().completion_tokens > 0


async def test_create_stream_yields_accepted_text_then_the_result() -> None:
    cascade, _, _ = two_tier([HEDGE], [GOOD])
    client = CascadeChatCompletionClient(cascade)
    items = [item async for item in client.create_stream([UserMessage(content="Sky?", source="user")])]
    *text, final = items
    assert "".join(str(t) for t in text) == GOOD
    assert isinstance(final, CreateResult) and final.content == GOOD and final.finish_reason == "stop"


class City(BaseModel):
    name: str


async def test_json_output_with_a_schema_asks_for_json_mode() -> None:
    cascade, cheap, _ = two_tier(['{"name": "Paris"}'], [])
    client = CascadeChatCompletionClient(cascade)
    result = await client.create([SystemMessage(content="Be terse."), UserMessage(content="Capital?", source="u")],
                                 json_output=City)
    assert City.model_validate_json(str(result.content)) == City(name="Paris")
    request = cheap.calls[0]
    assert request.response_format == "json"
    assert [m.role for m in request.messages] == ["system", "system", "user"]
    assert "name" in (request.messages[1].content or "")


async def test_cancellation_token_cancels_the_cascade_call() -> None:
    import asyncio

    from autogen_core import CancellationToken
    from tests.frameworks.helpers import cascade_of

    from cascadeflow import CompletionRequest, FunctionProvider, ScriptedProvider

    started = asyncio.Event()

    async def slow(request: CompletionRequest) -> str:
        started.set()
        await asyncio.sleep(3600)
        return GOOD

    client = CascadeChatCompletionClient(cascade_of(FunctionProvider(slow), ScriptedProvider([])))
    token = CancellationToken()
    call = asyncio.ensure_future(client.create([UserMessage(content="Sky?", source="u")], cancellation_token=token))
    await started.wait()
    token.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
