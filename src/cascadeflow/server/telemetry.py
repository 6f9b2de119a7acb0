"""OpenTelemetry GenAI spans for gateway requests (optional: ``pip install 'cascadeflow[otel]'``).

One span per chat request, named ``chat {model}``, with the GenAI semantic-convention attributes
(``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model``, ``gen_ai.response.model``,
``gen_ai.usage.input_tokens`` / ``output_tokens``) and each cascade decision as a span event. Only the API is
used: the application (or ``opentelemetry-instrument``) configures the SDK and exporter; without one the spans
are no-ops.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from cascadeflow.cascade.result import CascadeResult
from cascadeflow.errors import ConfigError


class Tracing:
    def __init__(self) -> None:
        try:
            from opentelemetry import trace
        except ImportError:
            raise ConfigError("telemetry.otel", "needs opentelemetry-api: pip install 'cascadeflow[otel]'") from None
        self._trace = trace
        self._tracer = trace.get_tracer("cascadeflow.gateway")

    def start(self, model: str) -> Any:
        return self._tracer.start_span(
            f"chat {model}", kind=self._trace.SpanKind.SERVER,
            attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": model},
        )

    def use(self, span: Any) -> AbstractContextManager[Any]:
        """Make ``span`` current, so spans of instrumented libraries nest under it."""
        return self._trace.use_span(span, end_on_exit=False)

    def finish(self, span: Any, result: CascadeResult | None, provider: str, error: BaseException | None) -> None:
        if provider:
            span.set_attribute("gen_ai.provider.name", provider)
        if result is not None:
            span.set_attribute("gen_ai.response.model", result.model_used)
            span.set_attribute("gen_ai.usage.input_tokens", result.usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", result.usage.output_tokens)
            span.set_attribute("cascadeflow.cost_usd", float(result.cost))
            span.set_attribute("cascadeflow.draft_accepted", result.draft_accepted)
        if error is not None:
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, type(error).__name__))
        span.end()
