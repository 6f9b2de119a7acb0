"""Prometheus text exposition (format 0.0.4) without a client library: counters, a gauge and histograms.

Each gateway process keeps its own numbers (scrape every replica; with ``--workers N`` a scrape sees the worker
that answered, which is why one worker per container is the recommended shape). Names start with
``cascadeflow_``; label values come from the config (model and key ids), statuses and decisions, never from a
request body, so cardinality stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from cascadeflow.cascade.result import StepRecord

LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Seconds: a passed-through answer from a fast upstream takes ~1 ms, a long generation up to a minute."""
CONTENT_TYPE: Final = b"text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: tuple[str, ...], values: Labels, extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _num(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


class Counter:
    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.help, self.labelnames = name, help_text, labels
        self.values: dict[Labels, float] = {}

    def inc(self, labels: Labels = (), amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def lines(self) -> Iterable[str]:
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(self.labelnames, labels)} {_num(value)}"


class Gauge(Counter):
    kind = "gauge"

    def set(self, value: float, labels: Labels = ()) -> None:
        self.values[labels] = value


class Histogram:
    kind = "histogram"

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = (),
                 buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.name, self.help, self.labelnames, self.buckets = name, help_text, labels, buckets
        self.counts: dict[Labels, list[int]] = {}
        self.sums: dict[Labels, float] = {}

    def observe(self, value: float, labels: Labels = ()) -> None:
        counts = self.counts.get(labels)
        if counts is None:
            counts = self.counts[labels] = [0] * (len(self.buckets) + 1)
            self.sums[labels] = 0.0
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                counts[i] += 1
                break
        else:
            counts[-1] += 1
        self.sums[labels] += value

    def lines(self) -> Iterable[str]:
        for labels, counts in sorted(self.counts.items()):
            running = 0
            for bound, count in zip((*self.buckets, float("inf")), counts, strict=True):
                running += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                bucket = _labels(self.labelnames, labels, 'le="' + le + '"')
                yield f"{self.name}_bucket{bucket} {running}"
            yield f"{self.name}_sum{_labels(self.labelnames, labels)} {_num(self.sums[labels])}"
            yield f"{self.name}_count{_labels(self.labelnames, labels)} {running}"


Metric = Counter | Histogram


class GatewayMetrics:
    """Every metric the gateway exports, fed by the request handler and by the cascade's run hooks."""

    def __init__(self) -> None:
        self.requests = Counter("cascadeflow_requests_total", "HTTP requests answered, by route, model and status.",
                                ("route", "model", "status"))
        self.duration = Histogram("cascadeflow_request_duration_seconds",
                                  "Time from request to last byte, by route and model.", ("route", "model"))
        self.first_content = Histogram("cascadeflow_stream_first_content_seconds",
                                       "Streams: time until the first content was sent, by model.", ("model",))
        self.in_flight = Gauge("cascadeflow_requests_in_flight", "Requests being answered now.")
        self.calls = Counter("cascadeflow_upstream_calls_total",
                             "Provider calls by tier model, kind (complete/stream/score) and outcome.",
                             ("model", "kind", "outcome"))
        self.call_duration = Histogram("cascadeflow_upstream_call_duration_seconds",
                                       "Provider call latency by tier model.", ("model",))
        self.tokens = Counter("cascadeflow_tokens_total", "Tokens by tier model and direction (input/output).",
                              ("model", "direction"))
        self.cost = Counter("cascadeflow_cost_usd_total", "USD spent by tier model (provider-reported or priced).",
                            ("model",))
        self.decisions = Counter("cascadeflow_cascade_decisions_total",
                                 "Cascade decisions (accept/escalate/final/fallback) by tier model.",
                                 ("model", "decision"))
        self.refusals = Counter("cascadeflow_refusals_total",
                                "Requests refused before any model call: budget, rate_limit, auth.",
                                ("reason", "key"))
        self.draining = Gauge("cascadeflow_draining", "1 while the process drains after SIGTERM.")
        self.all: tuple[Metric, ...] = (self.requests, self.duration, self.first_content, self.in_flight,
                                        self.calls, self.call_duration, self.tokens, self.cost, self.decisions,
                                        self.refusals, self.draining)

    def call(self, record: StepRecord) -> None:
        outcome = "error" if record.error is not None else ("cached" if record.cached else "ok")
        self.calls.inc((record.model, record.kind, outcome))
        self.call_duration.observe(record.latency_ms / 1000.0, (record.model,))
        if record.usage.input_tokens:
            self.tokens.inc((record.model, "input"), record.usage.input_tokens)
        if record.usage.output_tokens:
            self.tokens.inc((record.model, "output"), record.usage.output_tokens)
        if record.cost:
            self.cost.inc((record.model,), float(record.cost))

    def render(self) -> bytes:
        out: list[str] = []
        for metric in self.all:
            out.append(f"# HELP {metric.name} {metric.help}")
            out.append(f"# TYPE {metric.name} {metric.kind}")
            out.extend(metric.lines())
        return ("\n".join(out) + "\n").encode()
