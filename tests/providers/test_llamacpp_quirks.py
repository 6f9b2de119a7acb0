"""The llamacpp preset's quirk: llama-cpp-python's server rejects ``content: null`` on an assistant tool-call turn."""

from __future__ import annotations

import json

import httpx

from cascadeflow.config import ModelConfig
from cascadeflow.providers.openai_compatible import OpenAICompatibleProvider
from cascadeflow.providers.registry import default_registry
from cascadeflow.types import CompletionRequest, Message, ToolCall

ANSWER = {"choices": [{"message": {"role": "assistant", "content": "Sunny."}, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 3, "completion_tokens": 1}}
HISTORY = (
    Message(role="user", content="Weather in Paris?"),
    Message(role="assistant", content=None, tool_calls=(ToolCall("call_1", "get_weather", '{"city": "Paris"}'),)),
    Message(role="tool", content="Sunny", tool_call_id="call_1"),
)


async def sent_assistant_content(provider: str) -> object:
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=ANSWER)

    config = ModelConfig(name="m", provider=provider, base_url="http://127.0.0.1:1/v1", api_key="k")
    preset = default_registry().get(provider)
    llm = OpenAICompatibleProvider.from_config(config, preset, transport=httpx.MockTransport(handler))
    await llm.complete(CompletionRequest(messages=HISTORY))
    messages = bodies[0]["messages"]
    assert isinstance(messages, list)
    return messages[1]["content"]


async def test_llamacpp_sends_an_empty_string_for_a_tool_call_turn() -> None:
    assert await sent_assistant_content("llamacpp") == ""


async def test_openai_keeps_null_content() -> None:
    assert await sent_assistant_content("openai") is None
