"""Calls made directly with the real ``openai`` and ``anthropic`` SDK clients are governed inside a run.

The SDKs are the real packages; only their HTTP transport is an ``httpx.MockTransport`` standing in for the
vendor, so every body the SDK sends and every object it parses is real.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import cascadeflow
from cascadeflow.errors import BudgetExceededError

pytest.importorskip("openai")
pytest.importorskip("anthropic")
import anthropic
import openai


@pytest.fixture(autouse=True)
def harness() -> Iterator[None]:
    cascadeflow.reset()
    yield
    cascadeflow.reset()


class Vendor:
    """Records what the SDK sent; answers like the vendor would."""

    def __init__(self, reply: dict[str, Any], stream: list[dict[str, Any]] | None = None) -> None:
        self.reply, self.stream, self.bodies = reply, stream, []  # type: ignore[var-annotated]

    def __call__(self, request: Any) -> Any:
        http = importlib.import_module(type(request).__module__.split(".")[0])  # httpx, or anthropic's httpx2
        body = json.loads(request.content)
        self.bodies.append(body)
        if body.get("stream"):
            events = "".join((f"event: {e['type']}\n" if "type" in e else "") + f"data: {json.dumps(e)}\n\n"
                             for e in self.stream or ())
            return http.Response(200, text=events + "data: [DONE]\n\n", headers={"content-type": "text/event-stream"})
        return http.Response(200, json=self.reply)


def chat_reply(tool_calls: int = 0) -> dict[str, Any]:
    calls = [{"id": f"c{i}", "type": "function", "function": {"name": "search", "arguments": "{}"}}
             for i in range(tool_calls)]
    message: dict[str, Any] = {"role": "assistant", "content": None if calls else "Blue, from Rayleigh scattering."}
    if calls:
        message["tool_calls"] = calls
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}}


def transport_lib(sdk: Any) -> Any:
    """The HTTP package the SDK is built on (newer releases use httpx2, with the same API as httpx)."""
    return importlib.import_module("httpx2") if hasattr(sdk._base_client, "httpx2") else httpx


def openai_clients(vendor: Vendor) -> tuple[openai.OpenAI, openai.AsyncOpenAI]:
    http = transport_lib(openai)
    sync = openai.OpenAI(api_key="sk-test", base_url="http://vendor.test/v1",
                         http_client=http.Client(transport=http.MockTransport(vendor)))
    asynchronous = openai.AsyncOpenAI(api_key="sk-test", base_url="http://vendor.test/v1",
                                      http_client=http.AsyncClient(transport=http.MockTransport(vendor)))
    return sync, asynchronous


MESSAGES: Any = [{"role": "user", "content": "Why is the sky blue?"}]


async def test_openai_calls_in_a_run_are_recorded_priced_and_bounded() -> None:
    cascadeflow.init(mode="enforce")
    vendor = Vendor(chat_reply())
    sync, asynchronous = openai_clients(vendor)
    with cascadeflow.run(budget=1.0) as session:
        sync.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=50)
        await asynchronous.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=50)
    summary = session.summary()
    assert summary["steps"] == 2 and summary["calls_per_model"] == {"gpt-4o-mini": 2}
    assert summary["tokens_in"] == 24 and summary["unpriced_calls"] == 0
    assert summary["cost_total"] == pytest.approx(2 * (12 * 0.15 + 8 * 0.6) / 1e6)  # gpt-4o-mini list price
    sync.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # outside the run: untouched
    assert len(vendor.bodies) == 3 and session.summary()["steps"] == 2


def test_openai_budget_shrinks_then_stops_before_sending() -> None:
    cascadeflow.init(mode="enforce")
    vendor = Vendor(chat_reply())
    sync, _ = openai_clients(vendor)
    with cascadeflow.run(budget=0.0005):
        sync.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=1000)
    assert 16 <= vendor.bodies[0]["max_tokens"] < 1000  # $0.0005 pays for a shorter answer only
    with cascadeflow.run(budget=0.00005), pytest.raises(BudgetExceededError):
        sync.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=1000)
    assert len(vendor.bodies) == 1  # the stopped call never left the process


def test_openai_streams_are_recorded_when_they_end() -> None:
    cascadeflow.init(mode="observe")
    chunks = [{"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini",
               "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
              for word in ("Blue", " sky")]
    chunks.append({"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini",
                   "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}})
    vendor = Vendor(chat_reply(), chunks)
    sync, _ = openai_clients(vendor)
    with cascadeflow.run() as session:
        stream = sync.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                              stream_options={"include_usage": True})
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Blue sky"
    (step,) = session.records
    assert (step.kind, step.usage.input_tokens, step.usage.output_tokens) == ("stream", 12, 2)


def test_openai_tool_calls_past_the_cap_are_removed_from_the_response() -> None:
    cascadeflow.init(mode="enforce")
    sync, _ = openai_clients(Vendor(chat_reply(tool_calls=3)))
    with cascadeflow.run(max_tool_calls=2) as session:
        response = sync.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert [c.id for c in response.choices[0].message.tool_calls or ()] == ["c0", "c1"]
    assert [d["action"] for d in session.trace()] == ["allow", "deny_tool"]


def anthropic_reply() -> dict[str, Any]:
    return {"id": "m", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-latest",
            "content": [{"type": "text", "text": "Rayleigh scattering."}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 15, "output_tokens": 5}}


async def test_anthropic_calls_in_a_run_are_recorded_sync_async_and_streamed() -> None:
    cascadeflow.init(mode="observe")
    events: list[Any] = [
        {"type": "message_start", "message": {**anthropic_reply(), "content": [],
                                              "usage": {"input_tokens": 15, "output_tokens": 0}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Rayleigh."}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": {"output_tokens": 3}},
        {"type": "message_stop"},
    ]
    vendor = Vendor(anthropic_reply(), events)
    http = transport_lib(anthropic)
    sync = anthropic.Anthropic(api_key="sk-ant", base_url="http://vendor.test",
                               http_client=http.Client(transport=http.MockTransport(vendor)))
    asynchronous = anthropic.AsyncAnthropic(api_key="sk-ant", base_url="http://vendor.test",
                                            http_client=http.AsyncClient(transport=http.MockTransport(vendor)))
    with cascadeflow.run() as session:
        sync.messages.create(model="claude-3-5-haiku-latest", max_tokens=100, messages=MESSAGES)
        await asynchronous.messages.create(model="claude-3-5-haiku-latest", max_tokens=100, messages=MESSAGES)
        for _ in sync.messages.create(model="claude-3-5-haiku-latest", max_tokens=100, messages=MESSAGES,
                                      stream=True):
            pass
    usage = [(r.kind, r.usage.input_tokens, r.usage.output_tokens) for r in session.records]
    assert usage == [("complete", 15, 5), ("complete", 15, 5), ("stream", 15, 3)]
    assert session.summary()["cost_total"] > 0


def test_closing_the_harness_undoes_the_instrumentation() -> None:
    original = openai.resources.chat.completions.Completions.create
    harness = cascadeflow.init(mode="observe")
    assert openai.resources.chat.completions.Completions.create is not original
    harness.close()
    assert openai.resources.chat.completions.Completions.create is original
