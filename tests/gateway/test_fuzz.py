"""Fuzz: request bodies built from OpenAI's fields with arbitrary JSON values (and raw bytes) never get a 5xx.

The app is called directly as ASGI (no sockets on the request side); valid requests reach the stub upstream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cascadeflow.server import GatewayConfig, create_app
from cascadeflow.server.app import GatewayApp

from .conftest import KEY_B, base_config
from .stub_upstream import StubUpstream

FIELDS = ("model", "messages", "max_tokens", "max_completion_tokens", "temperature", "stop", "tools", "tool_choice",
          "response_format", "logprobs", "top_logprobs", "stream", "stream_options", "n", "top_p", "seed", "user",
          "presence_penalty", "frequency_penalty", "logit_bias", "parallel_tool_calls", "unknown_field")
EXAMPLES = 250

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=20)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
roles = st.sampled_from(["user", "system", "assistant", "tool", "wizard", ""]) | json_values
message = st.fixed_dictionaries({"role": roles}, optional={"content": st.text(max_size=40) | json_values,
                                                            "tool_calls": json_values, "name": json_values,
                                                            "tool_call_id": json_values})
models = st.sampled_from(["ok", "auto", "tools", "missing"]) | json_values
bodies = st.fixed_dictionaries(
    {"model": models, "messages": st.lists(message, max_size=3) | json_values},
    optional={name: json_values for name in FIELDS[2:]} | {"stream": st.booleans()},
)


class Harness:
    """One event loop and one app for all examples (upstream connections stay on one loop)."""

    def __init__(self, app: GatewayApp) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()

    def status(self, raw: bytes) -> int:
        return self.loop.run_until_complete(asyncio.wait_for(self._call(raw), 30))

    async def _call(self, raw: bytes) -> int:
        sent: list[MutableMapping[str, Any]] = []
        done = asyncio.Event()
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": raw, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                done.set()

        scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "root_path": "",
                 "headers": [(b"authorization", f"Bearer {KEY_B}".encode()), (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)
        starts = [m for m in sent if m["type"] == "http.response.start"]
        assert len(starts) == 1, sent
        return int(starts[0]["status"])


@pytest.fixture(scope="module")
def harness(upstream: StubUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "gateway.yaml"
    path.write_text(yaml.safe_dump(base_config(upstream)), encoding="utf-8")
    harness = Harness(create_app(GatewayConfig.load(path)))
    yield harness
    harness.loop.run_until_complete(harness.app.gateway.aclose())
    harness.loop.close()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
@given(body=bodies)
def test_structured_bodies_never_get_a_5xx(harness: Harness, body: dict[str, Any]) -> None:
    status = harness.status(json.dumps(body).encode())
    assert status < 500, body


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_raw_bytes_never_get_a_5xx(harness: Harness, raw: bytes) -> None:
    assert harness.status(raw) < 500
