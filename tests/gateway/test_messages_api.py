"""``POST /v1/messages`` with the real ``anthropic`` client: same cascades, keys and budgets, Anthropic shapes."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from .conftest import KEY_A, ServerThread
from .stub_upstream import CONTENT, StubUpstream


def client(server: ServerThread, key: str = KEY_A) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key=key, max_retries=0, timeout=15)


def test_message_and_headers(gateway: ServerThread) -> None:
    raw = client(gateway).messages.with_raw_response.create(
        model="auto", max_tokens=64, system="Be brief.", messages=[{"role": "user", "content": "Say hello."}])
    message = raw.parse()
    assert message.content[0].type == "text" and message.content[0].text == CONTENT
    assert message.stop_reason == "end_turn" and message.usage.input_tokens == 12
    assert raw.headers["x-cascadeflow-model"] == "small"


def test_tools_round_trip(gateway: ServerThread, upstream: StubUpstream) -> None:
    tools: list[Any] = [{"name": "get_weather", "description": "weather", "input_schema": {"type": "object"}}]
    message = client(gateway).messages.create(model="tools", max_tokens=64, tools=tools, messages=[
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]},
    ])
    block = message.content[0]
    assert block.type == "tool_use" and block.name == "get_weather" and block.input == {"city": "Paris"}
    assert message.stop_reason == "tool_use"
    sent = upstream.requests[-1]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "tool"]
    assert sent["tools"][0]["function"]["parameters"] == {"type": "object"}


def test_streaming_events(gateway: ServerThread) -> None:
    with client(gateway).messages.stream(model="ok", max_tokens=64,
                                         messages=[{"role": "user", "content": "Say hello."}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == CONTENT and final.stop_reason == "end_turn" and final.usage.output_tokens == 10


def test_errors_in_anthropic_shape(gateway: ServerThread) -> None:
    with pytest.raises(anthropic.AuthenticationError):
        client(gateway, key="wrong").messages.create(model="ok", max_tokens=8,
                                                     messages=[{"role": "user", "content": "x"}])
    reply = httpx.post(f"{gateway.url}/v1/messages", headers={"x-api-key": KEY_A},
                       json={"model": "ok", "max_tokens": 8, "messages": [{"role": "user", "content": [
                           {"type": "image", "source": {}}]}]})
    assert reply.status_code == 400
    assert reply.json()["type"] == "error" and reply.json()["error"]["type"] == "invalid_request_error"
    upstream_down = httpx.post(f"{gateway.url}/v1/messages", headers={"x-api-key": KEY_A},
                               json={"model": "fail-500", "max_tokens": 8, "messages": [{"role": "user",
                                                                                        "content": "x"}]})
    assert upstream_down.status_code == 502 and upstream_down.json()["error"]["type"] == "api_error"
