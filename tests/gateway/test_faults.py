"""Fault tests: a misbehaving upstream gives the documented status, nothing hangs, the gateway keeps serving."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from .conftest import KEY_B, ServerThread
from .stub_upstream import CONTENT

MESSAGES: list[Any] = [{"role": "user", "content": "Say hello in one short sentence."}]
CLIENT_TIMEOUT_S = 15.0


def post(server: ServerThread, body: Any, key: str = KEY_B) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body,
                      timeout=CLIENT_TIMEOUT_S)


@pytest.mark.parametrize(("behaviour", "status", "code"), [
    ("fail-500", 502, "upstream_unavailable"),
    ("fail-429", 429, "upstream_rate_limited"),
    ("slow", 504, "upstream_timeout"),
    ("reset", 502, "upstream_unavailable"),
    ("garbage-json", 502, "upstream_unavailable"),
    ("garbage-http", 502, "upstream_unavailable"),
])
def test_upstream_failures_map_to_documented_statuses(
    gateway: ServerThread, behaviour: str, status: int, code: str
) -> None:
    reply = post(gateway, {"model": behaviour, "messages": MESSAGES})
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["code"] == code
    assert "up-key" not in reply.text  # the upstream's key never leaks into an error
    if behaviour == "fail-429":
        assert reply.headers["retry-after"] == "7"
    ok = post(gateway, {"model": "ok", "messages": MESSAGES})  # and the gateway keeps serving
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == CONTENT


def test_stream_cut_before_any_final_text_is_an_error_response(gateway: ServerThread) -> None:
    reply = post(gateway, {"model": "stream-cut", "messages": MESSAGES, "stream": True})
    if reply.status_code == 200:  # the text started: the failure arrives as an error event, then the end
        events = [line for line in reply.text.split("\n\n") if line.startswith("data: ")]
        assert json.loads(events[-1][len("data: "):])["error"]["type"] == "upstream_error"
    else:
        assert reply.status_code == 502
    assert post(gateway, {"model": "ok", "messages": MESSAGES}).status_code == 200


async def test_many_concurrent_failures_do_not_hang_or_leak(gateway: ServerThread) -> None:
    behaviours = ["fail-500", "reset", "garbage-json", "garbage-http", "ok"] * 8
    async with httpx.AsyncClient(base_url=gateway.url, timeout=CLIENT_TIMEOUT_S,
                                 headers={"Authorization": f"Bearer {KEY_B}"}) as aclient:
        replies = await asyncio.gather(*(aclient.post("/v1/chat/completions",
                                                      json={"model": b, "messages": MESSAGES}) for b in behaviours))
    for behaviour, reply in zip(behaviours, replies, strict=True):
        assert reply.status_code == (200 if behaviour == "ok" else 502), (behaviour, reply.text)
    assert post(gateway, {"model": "ok", "messages": MESSAGES}).status_code == 200


@pytest.mark.parametrize(("body", "status", "param"), [
    (b"{not json", 400, None),
    (b"[1, 2]", 400, None),
    (b'{"model": "ok"}', 400, "messages"),
    (b'{"model": "ok", "messages": [{"role": "wizard", "content": "x"}]}', 400, "messages[0].role"),
    (b'{"model": "ok", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1}', 400, "max_tokens"),
    (b'{"model": "ok", "messages": [{"role": "user", "content": "x"}], "temperature": 9}', 400, "temperature"),
    (b'{"model": "ok", "messages": [{"role": "user", "content": "x"}], "n": 3}', 400, "n"),
    (b'{"model": "nope", "messages": [{"role": "user", "content": "x"}]}', 404, "model"),
])
def test_bad_requests_are_4xx_naming_the_field(gateway: ServerThread, body: bytes, status: int,
                                               param: str | None) -> None:
    reply = httpx.post(f"{gateway.url}/v1/chat/completions", content=body,
                       headers={"Authorization": f"Bearer {KEY_B}", "content-type": "application/json"})
    assert reply.status_code == status, reply.text
    assert reply.json()["error"]["param"] == param


def test_oversized_body_is_413(gateway: ServerThread) -> None:
    big = {"model": "ok", "messages": [{"role": "user", "content": "x" * (5 * 1024 * 1024)}]}
    assert post(gateway, big).status_code == 413


def test_unknown_route_and_method(gateway: ServerThread) -> None:
    assert httpx.get(f"{gateway.url}/v2/nothing").status_code == 404
    assert httpx.get(f"{gateway.url}/v1/chat/completions").status_code == 405
