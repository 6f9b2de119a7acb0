"""OpenAICompatibleProvider over httpx.MockTransport: payloads, parsing, errors, streaming, resilience."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from decimal import Decimal
from typing import Any

import httpx
import pytest

from cascadeflow import CascadeAgent
from cascadeflow.config import ModelConfig
from cascadeflow.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    MalformedResponseError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    StreamInterruptedError,
)
from cascadeflow.providers.openai_compatible import OpenAICompatibleProvider, parse_cost
from cascadeflow.providers.registry import default_registry
from cascadeflow.resilience.provider import wrap_resilient
from cascadeflow.types import Chunk, CompletionRequest, Message, ToolCall, ToolSpec

Reply = httpx.Response | Exception


class Server:
    """A scripted fake endpoint: records each request and answers with the next scripted reply."""

    def __init__(self, replies: Sequence[Reply]) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError(f"unexpected request #{len(self.requests)}")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def answer(content: str | None = "Paris.", **extra: Any) -> httpx.Response:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    message.update(extra.pop("message", {}))
    choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": extra.pop("finish_reason", "stop")}
    choice.update(extra)
    data = {"model": "gpt-4o-mini", "choices": [choice], "usage": {"prompt_tokens": 12, "completion_tokens": 3}}
    return httpx.Response(200, json=data)


def sse(*payloads: dict[str, Any] | str) -> bytes:
    lines = [f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n" for p in payloads]
    return "".join(lines).encode()


def delta(text: str | None = None, *, finish: str | None = None, **fields: Any) -> dict[str, Any]:
    d: dict[str, Any] = dict(fields)
    if text is not None:
        d["content"] = text
    return {"choices": [{"index": 0, "delta": d, "finish_reason": finish}]}


def provider_for(server: Server, model: str = "gpt-4o-mini") -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(model, base_url="https://api.test/v1", api_key="sk-test", client=server.client())


def req(text: str = "Capital of France?", **kw: Any) -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content=text),), **kw)


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def no_openai_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    yield


# ----------------------------------------------------------------------------------------------- payload
async def test_four_message_conversation_reaches_server_with_roles_intact() -> None:
    server = Server([answer("Berlin.")])
    messages = (
        Message(role="system", content="Answer briefly."),
        Message(role="user", content="Capital of France?"),
        Message(role="assistant", content="Paris."),
        Message(role="user", content="And of Germany?"),
    )
    request = CompletionRequest(messages=messages, max_tokens=20, temperature=0.0, stop=("\n",),
                                response_format="json")
    completion = await provider_for(server).complete(request)

    assert completion.content == "Berlin."
    sent = server.requests[0]
    assert str(sent.url) == "https://api.test/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    body = server.bodies()[0]
    assert [(m["role"], m["content"]) for m in body["messages"]] == [
        ("system", "Answer briefly."),
        ("user", "Capital of France?"),
        ("assistant", "Paris."),
        ("user", "And of Germany?"),
    ]
    assert body["model"] == "gpt-4o-mini"
    assert body["max_tokens"] == 20 and body["temperature"] == 0.0 and body["stop"] == ["\n"]
    assert body["response_format"] == {"type": "json_object"}
    assert "logprobs" not in body and "tools" not in body


async def test_completion_fields_are_parsed() -> None:
    server = Server([answer("Paris.", finish_reason="length")])
    completion = await provider_for(server).complete(req())
    assert completion.finish_reason == "length"
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (12, 3)
    assert completion.model == "gpt-4o-mini"
    assert completion.logprobs is None  # the server sent none: never fabricated
    assert completion.cost_usd is None  # no usage.cost: the engine prices the tokens itself


@pytest.mark.parametrize(("reported", "expected"), [(0.00042, Decimal("0.00042")), ("0.5", Decimal("0.5")),
                                                    (-1, None), ("free", None), (True, None), (None, None)])
def test_reported_usage_cost_is_read_when_sane(reported: Any, expected: Decimal | None) -> None:
    assert parse_cost({"prompt_tokens": 1, "cost": reported}) == expected


async def test_server_reported_cost_becomes_the_step_cost() -> None:
    data = {"model": "m", "choices": [{"message": {"role": "assistant", "content": "Paris is the capital."},
                                       "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "cost": 0.00042}}
    server = Server([httpx.Response(200, json=data)])
    agent = CascadeAgent([ModelConfig("m", provider="openrouter", cost=1.0)],
                         providers={"m": provider_for(server, "m")})
    result = await agent.run("What is the capital of France?")
    assert result.cost == Decimal("0.00042")  # what OpenRouter billed, not 15 tokens x $1/1K


async def test_logprobs_are_requested_and_parsed() -> None:
    lp = {"content": [{"token": "Par", "logprob": -0.1, "top_logprobs": []}, {"token": "is", "logprob": -0.5}]}
    server = Server([answer("Paris", logprobs=lp)])
    completion = await provider_for(server).complete(req(logprobs=True))
    body = server.bodies()[0]
    assert body["logprobs"] is True and body["top_logprobs"] >= 1
    assert completion.logprobs is not None
    assert [(t.token, t.logprob) for t in completion.logprobs] == [("Par", -0.1), ("is", -0.5)]


async def test_tool_calls_round_trip() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
    server = Server([answer(None, finish_reason="tool_calls", message={"tool_calls": [call]}), answer("Sunny.")])
    provider = provider_for(server)
    tool = ToolSpec(name="get_weather", description="Weather now",
                    parameters={"type": "object", "properties": {"city": {"type": "string"}}})
    first = await provider.complete(req("Weather in Oslo?", tools=(tool,), tool_choice="auto"))
    assert first.finish_reason == "tool_calls"
    assert first.tool_calls == (ToolCall(id="call_1", name="get_weather", arguments='{"city":"Oslo"}'),)
    assert first.tool_calls[0].parsed_arguments() == {"city": "Oslo"}

    follow_up = CompletionRequest(messages=(
        Message(role="user", content="Weather in Oslo?"),
        Message(role="assistant", content=None, tool_calls=first.tool_calls),
        Message(role="tool", content='{"sky": "clear"}', tool_call_id="call_1"),
    ), tools=(tool,))
    second = await provider.complete(follow_up)
    assert second.content == "Sunny."
    first_body, second_body = server.bodies()
    assert first_body["tools"] == [tool.to_openai()] and first_body["tool_choice"] == "auto"
    assert second_body["messages"][1]["tool_calls"] == [call]
    assert second_body["messages"][2] == {"role": "tool", "content": '{"sky": "clear"}', "tool_call_id": "call_1"}


# ----------------------------------------------------------------------------------------------- config
def test_openai_base_url_env_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9999/v1/")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    registry = default_registry()
    provider = registry.build(ModelConfig(name="gpt-4o-mini", provider="openai", cost=0.000375))
    assert isinstance(provider, OpenAICompatibleProvider)
    assert provider.url == "http://127.0.0.1:9999/v1/chat/completions"


def test_config_base_url_beats_env_and_key_comes_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9999/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    config = ModelConfig(name="m", provider="openai", cost=0.001, base_url="http://127.0.0.1:7000/v1")
    provider = default_registry().build(config)
    assert isinstance(provider, OpenAICompatibleProvider)
    assert provider.url == "http://127.0.0.1:7000/v1/chat/completions"
    assert provider.request_headers()["Authorization"] == "Bearer sk-env"


@pytest.mark.usefixtures("no_openai_env")
def test_missing_key_for_the_vendor_url_is_a_config_error_naming_the_env_var() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        default_registry().build(ModelConfig(name="gpt-4o", provider="openai", cost=0.00625))


@pytest.mark.usefixtures("no_openai_env")
def test_custom_base_url_needs_no_key() -> None:
    config = ModelConfig(name="local", provider="openai", cost=0.0, base_url="http://127.0.0.1:8080/v1")
    provider = default_registry().build(config)
    assert isinstance(provider, OpenAICompatibleProvider)
    assert "Authorization" not in provider.request_headers()


@pytest.mark.usefixtures("no_openai_env")
def test_generic_preset_without_base_url_names_the_env_var() -> None:
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        default_registry().build(ModelConfig(name="x", provider="openai-compatible", cost=0.0))


# ----------------------------------------------------------------------------------------------- errors
async def test_malformed_json_is_malformed_response_error() -> None:
    server = Server([httpx.Response(200, text="<html>gateway</html>")])
    with pytest.raises(MalformedResponseError, match="expected JSON"):
        await provider_for(server).complete(req())


@pytest.mark.parametrize("data", [{"choices": []}, {"object": "list"}, {"choices": [{"message": "hi"}]}, []])
async def test_missing_choices_is_malformed(data: Any) -> None:
    server = Server([httpx.Response(200, json=data)])
    with pytest.raises(MalformedResponseError):
        await provider_for(server).complete(req())


async def test_empty_content_is_never_a_success() -> None:
    server = Server([answer("")])
    with pytest.raises(MalformedResponseError, match="no content"):
        await provider_for(server).complete(req())


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, BadRequestError), (404, BadRequestError), (401, AuthenticationError), (403, AuthenticationError),
     (429, RateLimitError), (500, ProviderUnavailableError), (503, ProviderUnavailableError)],
)
async def test_status_codes_map_to_typed_errors(status: int, error: type[Exception]) -> None:
    body = {"error": {"message": f"boom {status}", "type": "x"}}
    server = Server([httpx.Response(status, json=body)])
    with pytest.raises(error, match=f"boom {status}") as info:
        await provider_for(server).complete(req())
    assert getattr(info.value, "status_code", None) == status
    assert getattr(info.value, "model", None) == "gpt-4o-mini"


async def test_transport_errors_map_to_typed_errors() -> None:
    server = Server([httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])
    provider = provider_for(server)
    with pytest.raises(ProviderTimeoutError):
        await provider.complete(req())
    with pytest.raises(ProviderUnavailableError, match="refused"):
        await provider.complete(req())


# ----------------------------------------------------------------------------------------------- resilience
def resilient(server: Server, sleep: FakeSleep, *, max_retries: int = 2) -> Any:
    config = ModelConfig(name="gpt-4o-mini", provider="openai", cost=0.000375, max_retries=max_retries)
    return wrap_resilient(provider_for(server), config, sleep=sleep, rng=lambda: 0.0)


async def test_429_with_retry_after_is_retried_on_the_same_model() -> None:
    server = Server([httpx.Response(429, headers={"Retry-After": "7"}, json={"error": {"message": "slow down"}}),
                     answer("Paris.")])
    sleep = FakeSleep()
    completion = await resilient(server, sleep).complete(req())
    assert completion.content == "Paris."
    assert len(server.requests) == 2
    assert [b["model"] for b in server.bodies()] == ["gpt-4o-mini", "gpt-4o-mini"]
    assert len(sleep.calls) == 1 and sleep.calls[0] >= 7.0


async def test_500_then_200_succeeds() -> None:
    server = Server([httpx.Response(500, text="internal"), answer("Paris.")])
    sleep = FakeSleep()
    completion = await resilient(server, sleep).complete(req())
    assert completion.content == "Paris."
    assert len(server.requests) == 2 and len(sleep.calls) == 1


async def test_timeout_is_retried_then_raised_when_retries_run_out() -> None:
    server = Server([httpx.ReadTimeout("t1"), httpx.ReadTimeout("t2"), httpx.ReadTimeout("t3")])
    sleep = FakeSleep()
    with pytest.raises(ProviderTimeoutError):
        await resilient(server, sleep, max_retries=2).complete(req())
    assert len(server.requests) == 3 and len(sleep.calls) == 2


async def test_401_is_raised_at_once_without_retry() -> None:
    server = Server([httpx.Response(401, json={"error": {"message": "bad key"}}), answer()])
    sleep = FakeSleep()
    with pytest.raises(AuthenticationError, match="bad key"):
        await resilient(server, sleep).complete(req())
    assert len(server.requests) == 1 and sleep.calls == []


# ----------------------------------------------------------------------------------------------- streaming
async def collect(chunks: AsyncIterator[Chunk]) -> list[Chunk]:
    return [c async for c in chunks]


async def test_stream_yields_text_then_a_final_chunk_with_usage() -> None:
    body = sse(delta(role="assistant"), delta("Par"), delta("is."), delta(finish="stop"),
               {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2}}, "[DONE]")
    server = Server([httpx.Response(200, content=b": keep-alive\n\n" + body)])
    chunks = await collect(provider_for(server).stream(req()))
    assert "".join(c.text for c in chunks) == "Paris."
    final = chunks[-1]
    assert final.finish_reason == "stop" and final.usage is not None and final.usage.output_tokens == 2
    assert final.cost_usd is None
    free = sse(delta("Hi."), delta(finish="stop"), {"choices": [], "usage": {"completion_tokens": 1, "cost": 0}})
    chunks = await collect(provider_for(Server([httpx.Response(200, content=free)])).stream(req()))
    assert chunks[-1].cost_usd == Decimal(0)  # a free call reports 0, which must not read as "no cost reported"
    sent = server.bodies()[0]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}


async def test_stream_accumulates_tool_call_deltas() -> None:
    first = {"index": 0, "id": "call_9", "function": {"name": "lookup", "arguments": '{"q": '}}
    rest = {"index": 0, "function": {"arguments": '"cats"}'}}
    body = sse(delta(tool_calls=[first]), delta(tool_calls=[rest]), delta(finish="tool_calls"), "[DONE]")
    server = Server([httpx.Response(200, content=body)])
    chunks = await collect(provider_for(server).stream(req()))
    assert chunks[-1].tool_calls == (ToolCall(id="call_9", name="lookup", arguments='{"q": "cats"}'),)
    assert chunks[-1].finish_reason == "tool_calls"


@pytest.mark.parametrize("cut", [b"", b'data: {"choices": [{"index": 0, "delta": {"content": "Paris'])
async def test_stream_cut_mid_way_is_interrupted(cut: bytes) -> None:
    server = Server([httpx.Response(200, content=sse(delta("Par"), delta("is")) + cut)])
    provider = provider_for(server)
    seen: list[str] = []
    with pytest.raises(StreamInterruptedError):
        async for chunk in provider.stream(req()):
            seen.append(chunk.text)
    assert "".join(seen) == "Paris"


class _BrokenStream(httpx.AsyncByteStream):
    def __init__(self, first: bytes) -> None:
        self.first = first

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


async def test_connection_drop_mid_stream_is_interrupted() -> None:
    server = Server([httpx.Response(200, stream=_BrokenStream(sse(delta("Par"))))])
    with pytest.raises(StreamInterruptedError, match="broke off"):
        await collect(provider_for(server).stream(req()))


async def test_stream_http_error_is_typed() -> None:
    server = Server([httpx.Response(429, headers={"retry-after-ms": "1500"}, json={"error": {"message": "wait"}})])
    with pytest.raises(RateLimitError) as info:
        await collect(provider_for(server).stream(req()))
    assert info.value.retry_after == 1.5


async def test_resilient_stream_retries_before_the_first_chunk() -> None:
    ok = httpx.Response(200, content=sse(delta("Hi"), delta(finish="stop"), "[DONE]"))
    server = Server([httpx.Response(503, text="busy"), ok])
    sleep = FakeSleep()
    chunks = await collect(resilient(server, sleep).stream(req()))
    assert "".join(c.text for c in chunks) == "Hi" and len(server.requests) == 2


async def test_resilient_stream_does_not_retry_after_text_was_shown() -> None:
    server = Server([httpx.Response(200, content=sse(delta("Par"))), answer()])
    sleep = FakeSleep()
    with pytest.raises(StreamInterruptedError):
        await collect(resilient(server, sleep).stream(req()))
    assert len(server.requests) == 1 and sleep.calls == []




async def test_own_client_is_made_lazily_and_closed_but_an_injected_one_is_left_open() -> None:
    server = Server([answer(), answer()])
    own = OpenAICompatibleProvider("m", base_url="http://127.0.0.1:1/v1", transport=httpx.MockTransport(server))
    assert own._http._client is None  # nothing built until the first call
    assert (await own.complete(req())).content == "Paris."
    await own.aclose()
    assert own._http._client is None

    injected = server.client()
    shared = OpenAICompatibleProvider("m", base_url="http://127.0.0.1:1/v1", client=injected)
    await shared.complete(req())
    await shared.aclose()
    assert not injected.is_closed
    await injected.aclose()
