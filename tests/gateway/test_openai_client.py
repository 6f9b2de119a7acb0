"""Acceptance: the real ``openai`` client (sync, async, streaming) against the gateway on a real socket."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import KEY_A, KEY_B, ServerThread, base_config
from .stub_upstream import CONTENT, StubUpstream

MESSAGES: list[Any] = [{"role": "user", "content": "Say hello in one short sentence."}]


def client(server: ServerThread, key: str = KEY_A) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=10)


def test_sync_completion_passthrough_with_headers(gateway: ServerThread) -> None:
    raw = client(gateway).chat.completions.with_raw_response.create(model="ok", messages=MESSAGES, max_tokens=32)
    completion = raw.parse()
    assert completion.choices[0].message.content == CONTENT
    assert completion.usage is not None and completion.usage.prompt_tokens == 12
    assert raw.headers["x-cascadeflow-model"] == "ok"
    assert raw.headers["x-cascadeflow-cost"] == "0.0000044"  # 12 + 10 tokens x 0.0002 USD per 1K
    assert raw.headers["x-cascadeflow-draft-accepted"] == "false"
    assert len(raw.headers["x-request-id"]) >= 8


def test_request_id_is_echoed(gateway: ServerThread) -> None:
    reply = httpx.post(f"{gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {KEY_B}",
                       "x-request-id": "trace-123"}, json={"model": "ok", "messages": MESSAGES})
    assert reply.status_code == 200
    assert reply.headers["x-request-id"] == "trace-123"
    assert reply.json()["id"] == "chatcmpl-trace-123"


def test_cascade_model_reports_the_tier_that_answered(gateway: ServerThread) -> None:
    raw = client(gateway).chat.completions.with_raw_response.create(model="auto", messages=MESSAGES)
    assert raw.headers["x-cascadeflow-model"] == "small"
    assert raw.headers["x-cascadeflow-draft-accepted"] == "true"
    assert raw.parse().model == "small"


def test_tool_calls_round_trip(gateway: ServerThread) -> None:
    tools: list[Any] = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    completion = client(gateway).chat.completions.create(model="tools", messages=MESSAGES, tools=tools)
    calls = completion.choices[0].message.tool_calls
    assert calls is not None and calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    assert completion.choices[0].finish_reason == "tool_calls"


def test_sampling_fields_reach_the_upstream(gateway: ServerThread, upstream: StubUpstream) -> None:
    client(gateway).chat.completions.create(model="ok", messages=MESSAGES, top_p=0.5, seed=7, user="u1")
    sent = upstream.requests[-1]
    assert (sent["top_p"], sent["seed"], sent["user"]) == (0.5, 7, "u1")
    assert "up-key" not in str(sent)


async def test_async_client(gateway: ServerThread) -> None:
    async with openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=KEY_A, max_retries=0) as aclient:
        completion = await aclient.chat.completions.create(model="ok", messages=MESSAGES)
        assert completion.choices[0].message.content == CONTENT
        stream = await aclient.chat.completions.create(model="ok", messages=MESSAGES, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == CONTENT


def test_streaming_live_passthrough_with_usage(gateway: ServerThread) -> None:
    stream = client(gateway).chat.completions.create(model="ok", messages=MESSAGES, stream=True,
                                                     stream_options={"include_usage": True})
    chunks = list(stream)
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(texts) > 1 and "".join(texts) == CONTENT  # forwarded piece by piece, not as one blob
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == len(CONTENT.split(" "))
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish[0].model_extra is not None and finish[0].model_extra["cascadeflow"]["model"] == "ok"


def test_streaming_cascade_sends_the_accepted_draft(gateway: ServerThread) -> None:
    chunks = list(client(gateway).chat.completions.create(model="auto", messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == CONTENT


def test_models_list(gateway: ServerThread) -> None:
    names = {m.id for m in client(gateway).models.list()}
    assert {"ok", "auto", "tools"} <= names


def test_wrong_key_is_401(gateway: ServerThread) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        client(gateway, key="sk-wrong").chat.completions.create(model="ok", messages=MESSAGES)
    assert info.value.status_code == 401
    reply = httpx.post(f"{gateway.url}/v1/chat/completions", json={"model": "ok", "messages": MESSAGES})
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "invalid_api_key"


def test_key_over_budget_is_refused_with_budget_error(
    upstream: StubUpstream, make_gateway: Callable[[dict[str, Any]], ServerThread]
) -> None:
    config = base_config(upstream, keys=[{"key": KEY_A, "id": "tight", "budget": {"total": 0.00001}}])
    server = make_gateway(config)
    ok = client(server).chat.completions.create(model="ok", messages=MESSAGES, max_tokens=14)
    assert ok.choices[0].message.content
    with pytest.raises(openai.APIStatusError) as info:
        for _ in range(3):
            client(server).chat.completions.create(model="ok", messages=MESSAGES, max_tokens=14)
    assert info.value.status_code == 402
    body = info.value.body
    assert isinstance(body, dict) and body["type"] == "budget_exceeded"


def test_rate_limit_is_429_with_retry_after(
    upstream: StubUpstream, make_gateway: Callable[[dict[str, Any]], ServerThread]
) -> None:
    server = make_gateway(base_config(upstream, keys=[{"key": KEY_A, "rpm": 2}]))
    statuses = []
    for _ in range(3):
        reply = httpx.post(f"{server.url}/v1/chat/completions", headers={"Authorization": f"Bearer {KEY_A}"},
                           json={"model": "ok", "messages": MESSAGES})
        statuses.append(reply.status_code)
    assert statuses == [200, 200, 429]
    assert int(reply.headers["retry-after"]) >= 1
    assert reply.json()["error"]["type"] == "rate_limit_error"


def test_metrics_parse_as_prometheus_text(gateway: ServerThread) -> None:
    client(gateway).chat.completions.create(model="auto", messages=MESSAGES)
    reply = httpx.get(f"{gateway.url}/metrics")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(reply.text)}
    assert all(name.startswith("cascadeflow_") for name in families)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    decisions = [v for (n, labels), v in samples.items()
                 if n == "cascadeflow_cascade_decisions_total" and ("decision", "accept") in labels]
    assert decisions and decisions[0] >= 1
    assert any(n == "cascadeflow_tokens_total" for n, _ in samples)
    assert "cascadeflow_request_duration_seconds" in families


def test_health_live_ready(gateway: ServerThread) -> None:
    for path in ("/health", "/ready", "/live"):
        reply = httpx.get(f"{gateway.url}{path}")
        assert reply.status_code == 200 and reply.json()["status"] == "ok"


def test_health_is_503_while_a_shared_store_is_down(
    upstream: StubUpstream, make_gateway: Callable[[dict[str, Any]], ServerThread]
) -> None:
    from cascadeflow.server.testing import free_port

    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    server = make_gateway(base_config(upstream, rate_limit_store=dead, keys=[{"key": KEY_B}]))
    reply = httpx.get(f"{server.url}/health", timeout=10)
    assert reply.status_code == 503
    assert reply.json() == {"status": "unavailable", "failing": {"rate_limit_store": "ConnectionError"}}
    assert httpx.get(f"{server.url}/live").status_code == 200  # alive, just not ready
