"""OpenTelemetryExporter: the v0.2.0 plan's call and every agent call as real OpenTelemetry counters."""

from __future__ import annotations

from typing import Any

import pytest

from cascadeflow import CascadeAgent, FunctionProvider, ModelConfig
from cascadeflow.types import Completion, Usage

pytest.importorskip("opentelemetry.sdk.metrics")
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from cascadeflow.integrations.otel import OpenTelemetryExporter


def points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    found: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = [(dict(p.attributes or {}), getattr(p, "value", None))
                                      for p in metric.data.data_points]
    return found


async def test_plan_call_and_agent_records_become_counters() -> None:
    reader = InMemoryMetricReader()
    exporter = OpenTelemetryExporter(meter_provider=MeterProvider(metric_readers=[reader]))
    exporter.export_cost(0.25, user_id="user_123", model="gpt-4")
    agent = CascadeAgent(models=[ModelConfig("small", provider="fake", input_price=1.0, output_price=2.0)],
                         providers={"small": FunctionProvider(lambda r: Completion(
                             content="The sky is blue because air scatters blue light the most.", model="small",
                             usage=Usage(10, 20)))}, hooks=[exporter], resilience=False)
    await agent.run("Why is the sky blue?", user_id="ann")
    found = points(reader)
    costs = dict((a["user_id"], v) for a, v in found["cascadeflow.cost.total"])
    assert costs["user_123"] == pytest.approx(0.25) and costs["ann"] == pytest.approx((10 * 1 + 20 * 2) / 1e6)
    assert found["cascadeflow.tokens.output"] == [({"user_id": "ann", "model": "small"}, 20)]
    assert found["cascadeflow.calls"] == [({"user_id": "ann", "model": "small", "action": "final"}, 1)]
