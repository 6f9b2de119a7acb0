"""OpenTelemetry GenAI spans (optional extra) and the JSON access log (no keys, no bodies unless asked)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cascadeflow.server import GatewayConfig, create_app
from cascadeflow.server.logs import ACCESS_LOGGER, JsonFormatter

from .conftest import KEY_A, base_config
from .stub_upstream import StubUpstream

MESSAGES: list[Any] = [{"role": "user", "content": "Say hello in one short sentence."}]


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


def app_for(upstream: StubUpstream, tmp_path: Path, **more: Any) -> Any:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(base_config(upstream, **more)), encoding="utf-8")
    return create_app(GatewayConfig.load(path))


async def post(app: Any, body: dict[str, Any]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        return await client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY_A}"})


async def test_genai_span_with_decision_events(upstream: StubUpstream, tmp_path: Path,
                                               spans: InMemorySpanExporter) -> None:
    app = app_for(upstream, tmp_path, telemetry={"otel": True})
    reply = await post(app, {"model": "auto", "messages": MESSAGES})
    assert reply.status_code == 200
    span = next(s for s in spans.get_finished_spans() if s.name == "chat auto")
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == "auto"
    assert attrs["gen_ai.response.model"] == "small"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.usage.input_tokens"] == 12 and attrs["gen_ai.usage.output_tokens"] == 10
    decisions = [e for e in span.events if e.name == "cascadeflow.decision"]
    assert decisions and dict(decisions[0].attributes or {})["cascadeflow.action"] == "accept"


async def test_access_log_is_json_without_key_or_body(upstream: StubUpstream, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    app = app_for(upstream, tmp_path)
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        await post(app, {"model": "ok", "messages": [{"role": "user", "content": "my secret diary"}]})
    line = JsonFormatter().format(caplog.records[-1])
    record = json.loads(line)
    assert record["status"] == 200 and record["key"] == "team-a" and record["model"] == "ok"
    assert record["request_id"] and record["cost"] == "0.0000044"
    assert KEY_A not in line and "secret diary" not in line and "up-key" not in line


def test_library_records_carry_the_request_id() -> None:
    from cascadeflow.server.context import CURRENT, RequestContext

    record = logging.getLogger("cascadeflow.budget").makeRecord("cascadeflow.budget", logging.WARNING, __file__, 1,
                                                                 "budget: %s", ("90% used",), None)
    token = CURRENT.set(RequestContext("rid-42", "team-a", "auto"))
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        CURRENT.reset(token)
    assert line["request_id"] == "rid-42" and line["msg"] == "budget: 90% used"
