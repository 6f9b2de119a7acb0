"""AnthropicProvider: Messages API mapping both ways, errors and SSE streaming, over httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from cascadeflow.config import ModelConfig
from cascadeflow.errors import (
    AuthenticationError,
    ConfigError,
    MalformedResponseError,
    ProviderUnavailableError,
    RateLimitError,
    StreamInterruptedError,
)
from cascadeflow.providers.anthropic import API_VERSION, JSON_INSTRUCTION, AnthropicProvider
from cascadeflow.providers.registry import default_registry
from cascadeflow.types import CompletionRequest, Message, ToolCall, ToolSpec


class Server:
    def __init__(self, replies: Sequence[httpx.Response]) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.replies.pop(0)

    def body(self, i: int = 0) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.requests[i].content)
        return data


def message(*blocks: dict[str, Any], stop_reason: str = "end_turn") -> httpx.Response:
    data = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-haiku-latest",
        "content": list(blocks),
        "stop_reason": stop_reason,
        "usage": {"input_tokens": 21, "output_tokens": 4},
    }
    return httpx.Response(200, json=data)


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def provider_for(server: Server) -> AnthropicProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(server))
    return AnthropicProvider("claude-3-5-haiku-latest", api_key="sk-ant", client=client)


WEATHER = ToolSpec(name="get_weather", description="Weather now",
                   parameters={"type": "object", "properties": {"city": {"type": "string"}}})


async def test_conversation_maps_system_tools_and_tool_results() -> None:
    server = Server([message(text("Sunny in Oslo."))])
    call = ToolCall(id="toolu_1", name="get_weather", arguments='{"city": "Oslo"}')
    request = CompletionRequest(
        messages=(
            Message(role="system", content="Be brief."),
            Message(role="user", content="Weather in Oslo?"),
            Message(role="assistant", content="Let me check.", tool_calls=(call,)),
            Message(role="tool", content='{"sky": "clear"}', tool_call_id="toolu_1"),
            Message(role="user", content="Thanks, so?"),
        ),
        max_tokens=64,
        temperature=0.2,
        stop=("END",),
        tools=(WEATHER,),
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    completion = await provider_for(server).complete(request)

    sent = server.requests[0]
    assert str(sent.url) == "https://api.anthropic.com/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant" and sent.headers["anthropic-version"] == API_VERSION
    body = server.body()
    assert body["system"] == "Be brief."
    assert body["max_tokens"] == 64 and body["temperature"] == 0.2 and body["stop_sequences"] == ["END"]
    assert body["tools"] == [{"name": "get_weather", "description": "Weather now",
                              "input_schema": dict(WEATHER.parameters)}]
    assert body["tool_choice"] == {"type": "tool", "name": "get_weather"}
    assert body["messages"] == [
        {"role": "user", "content": [text("Weather in Oslo?")]},
        {"role": "assistant", "content": [
            text("Let me check."),
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
        ]},
        # the tool result and the next user text share one user turn: the API requires alternating roles
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": '{"sky": "clear"}'},
            text("Thanks, so?"),
        ]},
    ]
    assert completion.content == "Sunny in Oslo."
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (21, 4)
    assert completion.finish_reason == "stop" and completion.logprobs is None


async def test_tool_use_answer_becomes_tool_call_with_json_arguments() -> None:
    use = {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}
    server = Server([message(text("Checking."), use, stop_reason="tool_use")])
    completion = await provider_for(server).complete(
        CompletionRequest(messages=(Message(role="user", content="Rome?"),), tools=(WEATHER,), tool_choice="required")
    )
    assert completion.finish_reason == "tool_calls"
    assert completion.tool_calls == (ToolCall(id="toolu_2", name="get_weather", arguments='{"city": "Rome"}'),)
    assert server.body()["tool_choice"] == {"type": "any"}


async def test_defaults_max_tokens_and_json_instruction() -> None:
    server = Server([message(text('{"a": 1}'), stop_reason="max_tokens")])
    request = CompletionRequest(messages=(Message(role="user", content="JSON please"),), response_format="json")
    completion = await provider_for(server).complete(request)
    body = server.body()
    assert body["max_tokens"] > 0 and body["system"] == JSON_INSTRUCTION
    assert completion.finish_reason == "length"


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthenticationError), (429, RateLimitError), (529, ProviderUnavailableError)],
)
async def test_errors_are_typed(status: int, error: type[Exception]) -> None:
    body = {"type": "error", "error": {"type": "x", "message": f"anthropic says {status}"}}
    server = Server([httpx.Response(status, json=body, headers={"retry-after": "3"})])
    with pytest.raises(error, match=f"anthropic says {status}"):
        await provider_for(server).complete(CompletionRequest(messages=(Message(role="user", content="hi"),)))


async def test_answer_without_content_blocks_is_malformed() -> None:
    server = Server([httpx.Response(200, json={"type": "message", "content": []})])
    with pytest.raises(MalformedResponseError):
        await provider_for(server).complete(CompletionRequest(messages=(Message(role="user", content="hi"),)))


def events(*items: tuple[str, dict[str, Any]]) -> bytes:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in items).encode()


START = ("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 9, "output_tokens": 1}}})
BLOCK = ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": text("")})


def text_delta(t: str) -> tuple[str, dict[str, Any]]:
    return ("content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}})


END: list[tuple[str, dict[str, Any]]] = [
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}}),
    ("message_stop", {"type": "message_stop"}),
]


async def test_stream_yields_text_and_final_usage() -> None:
    body = events(START, ("ping", {"type": "ping"}), BLOCK, text_delta("Hel"), text_delta("lo."), *END)
    server = Server([httpx.Response(200, content=body)])
    provider = provider_for(server)
    chunks = [c async for c in provider.stream(CompletionRequest(messages=(Message(role="user", content="hi"),)))]
    assert "".join(c.text for c in chunks) == "Hello."
    final = chunks[-1]
    assert final.finish_reason == "stop" and final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens) == (9, 3)
    assert server.body()["stream"] is True


async def test_stream_tool_use_input_is_assembled() -> None:
    tool_start = ("content_block_start", {"type": "content_block_start", "index": 0,
                  "content_block": {"type": "tool_use", "id": "toolu_3", "name": "get_weather", "input": {}}})
    parts = [("content_block_delta", {"type": "content_block_delta", "index": 0,
              "delta": {"type": "input_json_delta", "partial_json": p}}) for p in ('{"city": ', '"Oslo"}')]
    stop = ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {}})
    body = events(START, tool_start, *parts, stop, ("message_stop", {"type": "message_stop"}))
    server = Server([httpx.Response(200, content=body)])
    request = CompletionRequest(messages=(Message(role="user", content="Oslo?"),), tools=(WEATHER,))
    chunks = [c async for c in provider_for(server).stream(request)]
    assert chunks[-1].finish_reason == "tool_calls"
    assert chunks[-1].tool_calls == (ToolCall(id="toolu_3", name="get_weather", arguments='{"city": "Oslo"}'),)


async def test_stream_cut_before_message_stop_is_interrupted() -> None:
    server = Server([httpx.Response(200, content=events(START, BLOCK, text_delta("Hel")))])
    with pytest.raises(StreamInterruptedError, match="message_stop"):
        _ = [c async for c in provider_for(server).stream(
            CompletionRequest(messages=(Message(role="user", content="hi"),)))]


async def test_stream_error_event_is_typed() -> None:
    err = ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    server = Server([httpx.Response(200, content=events(START, err))])
    with pytest.raises(ProviderUnavailableError, match="Overloaded"):
        _ = [c async for c in provider_for(server).stream(
            CompletionRequest(messages=(Message(role="user", content="hi"),)))]


def test_from_config_reads_key_and_base_url_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-env")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9000/v1")
    provider = default_registry().build(ModelConfig(name="claude-x", provider="anthropic", cost=0.001))
    assert isinstance(provider, AnthropicProvider)
    assert provider.url == "http://127.0.0.1:9000/v1/messages"
    assert provider.request_headers()["x-api-key"] == "sk-env"


def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        default_registry().build(ModelConfig(name="claude-x", provider="anthropic", cost=0.001))
