"""Every malformed answer is a MalformedResponseError at the provider boundary, is not retried, and the cascade
falls back to the next tier — for whole answers and for streams, OpenAI-compatible and Anthropic."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cascadeflow import CascadeAgent, ModelConfig, ScriptedProvider
from cascadeflow.cascade.streaming import Escalation, FinalResult, StreamEvent, TextDelta
from cascadeflow.errors import MalformedResponseError
from cascadeflow.providers.anthropic import AnthropicProvider
from cascadeflow.providers.openai_compatible import OpenAICompatibleProvider
from cascadeflow.providers.sse import SSEDecoder
from cascadeflow.resilience.provider import wrap_resilient
from cascadeflow.types import CompletionRequest, Message

GOOD = "Paris is the capital of France."
Handler = Callable[[httpx.Request], httpx.Response]


class FakeSleep:
    async def __call__(self, seconds: float) -> None:
        return None


def request() -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content="What is the capital of France?"),))


def completion(**override: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "model": "small",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": GOOD}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 7},
    }
    data.update(override)
    return data


def sse(*payloads: Any, done: bool = True) -> bytes:
    body = "".join(f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n" for p in payloads)
    return (body + ("data: [DONE]\n\n" if done else "")).encode()


def chunk(delta: Any = None, *, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": "Paris"} if delta is None else delta,
                         "finish_reason": finish}], **extra}


class Counting:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.calls = 0

    def __call__(self, req: httpx.Request) -> httpx.Response:
        self.calls += 1
        return self.handler(req)


def openai(handler: Handler) -> OpenAICompatibleProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return OpenAICompatibleProvider("small", base_url="https://llm.test/v1", api_key="sk-test", client=client)


def agent_over(handler: Handler) -> CascadeAgent:
    """small: a real OpenAI-compatible provider over the handler, with retries; large: answers fine."""
    small = ModelConfig(name="small", provider="openai", cost=0.0001, max_retries=2)
    wrapped = wrap_resilient(openai(handler), small, sleep=FakeSleep())
    large = ScriptedProvider([GOOD, GOOD], model="large")
    return CascadeAgent(models=[small, ModelConfig(name="large", provider="openai", cost=0.01)],
                        providers={"small": wrapped, "large": large})


def json_reply(data: Any) -> Handler:
    return lambda req: httpx.Response(200, json=data)


BAD_BODIES: dict[str, Handler] = {
    "usage-prompt-tokens-text": json_reply(completion(usage={"prompt_tokens": "ten", "completion_tokens": 3})),
    "usage-negative": json_reply(completion(usage={"prompt_tokens": -1})),
    "usage-not-an-object": json_reply(completion(usage=[1, 2])),
    "choices-a-dict": json_reply(completion(choices={"0": {"message": {"content": GOOD}}})),
    "choice-a-string": json_reply(completion(choices=["Paris"])),
    "content-a-number": json_reply(completion(choices=[{"message": {"content": 42}}])),
    "finish-reason-a-list": json_reply(completion(choices=[{"message": {"content": GOOD}, "finish_reason": [1]}])),
    "tool-call-without-function": json_reply(completion(choices=[{"message": {"tool_calls": [{"id": "1"}]}}])),
    "tool-call-arguments-a-number": json_reply(
        completion(choices=[{"message": {"tool_calls": [{"function": {"name": "f", "arguments": 5}}]}}])),
    "logprob-not-a-number": json_reply(completion(
        choices=[{"message": {"content": GOOD}, "logprobs": {"content": [{"token": "P", "logprob": "x"}]}}])),
    "model-a-number": json_reply(completion(model=7)),
    "a-json-array": json_reply([completion()]),
    "an-error-with-200": json_reply({"error": {"message": "backend exploded"}}),
    "gzip-header-on-plain-body": lambda req: httpx.Response(
        200, content=json.dumps(completion()).encode(), headers={"Content-Encoding": "gzip"}),
    "redirect": lambda req: httpx.Response(302, headers={"Location": "https://login.test/?token=abc"}),
    "html": lambda req: httpx.Response(200, text="<html>maintenance</html>"),
    "nan-usage": lambda req: httpx.Response(200, content=json.dumps(completion()).replace("10", "NaN").encode()),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
async def test_a_malformed_answer_is_typed_not_retried_and_falls_back(name: str) -> None:
    server = Counting(BAD_BODIES[name])
    with pytest.raises(MalformedResponseError):
        await openai(server).complete(request())
    server.calls = 0
    result = await agent_over(server).run("What is the capital of France?")
    assert result.model_used == "large"
    assert result.steps[0].action == "fallback"
    assert (result.steps[0].error or "").startswith("MalformedResponseError")
    assert server.calls == 1  # malformed answers are not retried: the same request gets the same answer


async def test_a_redirect_says_so_and_redacts_the_location() -> None:
    with pytest.raises(MalformedResponseError, match="redirect") as info:
        await openai(BAD_BODIES["redirect"]).complete(request())
    assert info.value.status_code == 302 and "abc" not in str(info.value) and "no choices" not in str(info.value)


async def test_a_gzip_header_on_a_plain_body_is_named() -> None:
    with pytest.raises(MalformedResponseError, match="could not be decoded"):
        await openai(BAD_BODIES["gzip-header-on-plain-body"]).complete(request())


async def test_a_really_gzipped_body_still_works() -> None:
    body = gzip.compress(json.dumps(completion()).encode())
    provider = openai(lambda req: httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"}))
    assert (await provider.complete(request())).content == GOOD


async def test_float_token_counts_that_are_whole_numbers_are_accepted() -> None:
    reply = json_reply(completion(usage={"prompt_tokens": 10.0, "completion_tokens": 7}))
    assert (await openai(reply).complete(request())).usage.input_tokens == 10


# --------------------------------------------------------------------------- streams
def stream_reply(body: bytes, **headers: str) -> Handler:
    return lambda req: httpx.Response(200, content=body, headers={"Content-Type": "text/event-stream", **headers})


BAD_STREAMS: dict[str, Handler] = {
    "string-delta": stream_reply(sse(chunk(), chunk("Paris"), chunk({}, finish="stop"))),
    "non-numeric-usage": stream_reply(sse(chunk(), chunk({}, finish="stop", usage={"prompt_tokens": "x"}))),
    "tool-call-index-x": stream_reply(
        sse(chunk(), chunk({"tool_calls": [{"index": "x", "function": {"name": "f", "arguments": "{}"}}]}))),
    "choices-a-dict": stream_reply(sse(chunk(), {"choices": {"0": {"delta": {"content": "x"}}}})),
    "content-a-list": stream_reply(sse(chunk(), chunk({"content": ["x"]}))),
    "chunk-a-list": stream_reply(sse(chunk(), [1, 2])),
    "gzip-header-on-plain-stream": stream_reply(sse(chunk(), chunk({}, finish="stop")), **{"Content-Encoding": "gzip"}),
    "redirect": lambda req: httpx.Response(307, headers={"Location": "https://elsewhere.test/v1"}),
}


async def _events(agent: CascadeAgent) -> list[StreamEvent]:
    return [e async for e in agent.stream("What is the capital of France?")]


@pytest.mark.parametrize("name", list(BAD_STREAMS))
async def test_a_malformed_stream_is_typed_and_falls_back(name: str) -> None:
    with pytest.raises(MalformedResponseError):
        async for _ in openai(BAD_STREAMS[name]).stream(request()):
            pass
    events = await _events(agent_over(BAD_STREAMS[name]))
    fallbacks = [e for e in events if isinstance(e, Escalation)]
    assert len(fallbacks) == 1 and fallbacks[0].action == "fallback" and fallbacks[0].next_model == "large"
    final = events[-1]
    assert isinstance(final, FinalResult) and final.result.model_used == "large"
    assert (final.result.steps[0].error or "").startswith("MalformedResponseError")


async def test_text_shown_before_a_malformed_chunk_is_withdrawn_by_the_fallback_event() -> None:
    events = await _events(agent_over(BAD_STREAMS["string-delta"]))
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("TextDelta") < kinds.index("Escalation")
    first = events[0]
    assert isinstance(first, TextDelta) and first.model == "small" and first.draft


def test_an_sse_event_without_data_is_not_dispatched() -> None:
    decoder = SSEDecoder()
    assert decoder.feed("event: ping") is None and decoder.feed("") is None
    assert decoder.feed("data: x") is None
    event = decoder.feed("")
    assert event is not None and (event.event, event.data) == ("message", "x")  # the ping's type did not stick


async def test_keepalive_events_without_data_do_not_break_a_stream() -> None:
    body = b"event: keepalive\n\n" + sse(chunk(), chunk({}, finish="stop"))
    chunks = [c async for c in openai(stream_reply(body)).stream(request())]
    assert "".join(c.text for c in chunks) == "Paris" and chunks[-1].finish_reason == "stop"


# --------------------------------------------------------------------------- Anthropic
def anthropic(handler: Handler) -> AnthropicProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return AnthropicProvider("claude", api_key="sk-ant", client=client)


def message(**override: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"model": "claude", "content": [{"type": "text", "text": GOOD}], "stop_reason": "end_turn",
                            "usage": {"input_tokens": 5, "output_tokens": 6}}
    data.update(override)
    return data


@pytest.mark.parametrize(
    "data",
    [
        message(usage={"input_tokens": "ten"}),
        message(content=[{"type": "text", "text": 5}]),
        message(content=["Paris"]),
        message(content=[{"type": "tool_use", "id": "t", "name": "f", "input": "not-an-object"}]),
        message(stop_reason=3),
    ],
    ids=["usage-text", "text-a-number", "block-a-string", "tool-input-a-string", "stop-reason-a-number"],
)
async def test_anthropic_malformed_messages_are_typed(data: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponseError):
        await anthropic(json_reply(data)).complete(request())


def _anthropic_stream(*events: dict[str, Any]) -> bytes:
    lines = "event: ping\n\n"  # Anthropic's keep-alive, here without data: must be skipped
    lines += "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    return lines.encode()


START = {"type": "message_start", "message": {"usage": {"input_tokens": 3}}}
STOP = {"type": "message_stop"}


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "content_block_delta", "index": "x", "delta": {"type": "text_delta", "text": "P"}},
        {"type": "content_block_delta", "index": 0, "delta": "Paris"},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": "many"}},
        {"type": "message_start", "message": "hello"},
    ],
    ids=["index-x", "delta-a-string", "usage-text", "message-a-string"],
)
async def test_anthropic_malformed_stream_events_are_typed(bad: dict[str, Any]) -> None:
    text = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Paris"}}
    provider = anthropic(stream_reply(_anthropic_stream(START, text, bad, STOP)))
    with pytest.raises(MalformedResponseError):
        async for _ in provider.stream(request()):
            pass


async def test_anthropic_stream_with_data_less_pings_still_works() -> None:
    text = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Paris"}}
    provider = anthropic(stream_reply(_anthropic_stream(START, text, STOP)))
    chunks = [c async for c in provider.stream(request())]
    assert "".join(c.text for c in chunks) == "Paris"
