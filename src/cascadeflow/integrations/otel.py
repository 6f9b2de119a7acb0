"""Cost and usage as OpenTelemetry metrics: ``OpenTelemetryExporter`` (the v0.2.0 plan's name).

    exporter = OpenTelemetryExporter(endpoint="http://localhost:4318")   # an OTLP/HTTP collector
    agent = CascadeAgent(models=[...], hooks=[exporter])                 # every call's record, as metrics
    exporter.export_cost(0.0012, user_id="u1", model="gpt-4o")           # or report a cost yourself

Metrics (names start with ``cascadeflow.``): ``cascadeflow.cost.total`` (USD), ``cascadeflow.tokens.input`` and
``.output``, ``cascadeflow.calls`` (by action: accept, escalate, final, fallback, verify), with ``model`` and
``user_id`` attributes. With ``endpoint`` the exporter sets up its own meter provider pushing OTLP/HTTP every
``interval_s`` (``pip install opentelemetry-exporter-otlp-proto-http``); without one it uses the meter provider
your application configured (``meter_provider=`` or the global one), e.g. a Prometheus reader — nothing is sent
anywhere you did not set up. Needs the ``otel`` extra (``opentelemetry-api``; ``opentelemetry-sdk`` for an
endpoint).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from cascadeflow.errors import ConfigError

if TYPE_CHECKING:
    from cascadeflow.cascade.hooks import CallDirective, CallStart
    from cascadeflow.cascade.result import StepRecord
    from cascadeflow.types import Completion

INSTALL_HINT: Final = 'OpenTelemetry export needs: pip install "cascadeflow[otel]"'
DEFAULT_INTERVAL_S: Final = 15.0
"""How often the exporter's own meter provider pushes: a dashboard's usual resolution, few requests."""


def _meter(endpoint: str | None, meter_provider: Any, interval_s: float) -> Any:
    try:
        from opentelemetry import metrics
    except ImportError as exc:
        raise ConfigError("OpenTelemetryExporter", INSTALL_HINT) from exc
    if meter_provider is None and endpoint is not None:
        try:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        except ImportError as exc:
            raise ConfigError("OpenTelemetryExporter.endpoint", "an endpoint needs opentelemetry-sdk and "
                              "opentelemetry-exporter-otlp-proto-http (or pass meter_provider=)") from exc
        reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint.rstrip("/") + "/v1/metrics"),
                                               export_interval_millis=int(interval_s * 1000))
        meter_provider = MeterProvider(metric_readers=[reader])
    provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    return provider.get_meter("cascadeflow")


class OpenTelemetryExporter:
    """Cost, tokens and calls as OpenTelemetry counters; also a run hook (``CascadeAgent(hooks=[exporter])``)."""

    def __init__(self, endpoint: str | None = None, *, meter_provider: Any = None,
                 interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.endpoint = endpoint
        meter = _meter(endpoint, meter_provider, interval_s)
        self.cost_counter = meter.create_counter("cascadeflow.cost.total", unit="USD",
                                                 description="What model calls cost, in USD")
        self.input_tokens = meter.create_counter("cascadeflow.tokens.input", unit="{token}",
                                                 description="Prompt tokens sent to models")
        self.output_tokens = meter.create_counter("cascadeflow.tokens.output", unit="{token}",
                                                  description="Tokens models generated")
        self.calls = meter.create_counter("cascadeflow.calls", unit="{call}", description="Model calls by outcome")

    def export_cost(self, cost: float | Decimal, user_id: str | None = None, model: str = "") -> None:
        """Add ``cost`` USD for ``user_id`` and ``model`` (the v0.2.0 plan's call)."""
        self.cost_counter.add(float(cost), attributes=_attributes(user_id, model))

    def export_record(self, record: StepRecord) -> None:
        """One call's record: its cost, tokens and outcome."""
        attributes = _attributes(record.user_id, record.model)
        self.cost_counter.add(float(record.cost), attributes=attributes)
        self.input_tokens.add(record.usage.input_tokens, attributes=attributes)
        self.output_tokens.add(record.usage.output_tokens, attributes=attributes)
        self.calls.add(1, attributes={**attributes, "action": record.action})

    # ------------------------------------------------------------------ run hooks: every call of an agent
    async def on_call_start(self, call: CallStart) -> CallDirective | None:
        return None

    async def on_call_end(self, call: CallStart, record: StepRecord | None) -> None:
        if record is not None:
            self.export_record(record)

    def on_answer(self, call: CallStart, completion: Completion) -> Completion | None:
        return None

    def on_decision(self, record: StepRecord) -> None:
        return None


def _attributes(user_id: str | None, model: str) -> dict[str, str]:
    return {"user_id": user_id or "", "model": model}
