"""Run hooks that feed the gateway's metrics and spans from the cascade's own call records.

No second accounting path: every number /metrics shows about upstream calls (tokens, cost, latency, outcomes,
cascade decisions) comes from the :class:`~cascadeflow.cascade.result.StepRecord` the engine hands every hook
(the same records the budget tracker commits).
"""

from __future__ import annotations

from cascadeflow.cascade.hooks import CallDirective, CallStart
from cascadeflow.cascade.result import StepRecord
from cascadeflow.server.context import CURRENT
from cascadeflow.server.metrics import GatewayMetrics
from cascadeflow.types import Completion


class GatewayHooks:
    """Observes only: never changes or stops a call."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics

    async def on_call_start(self, call: CallStart) -> CallDirective | None:
        return None

    async def on_call_end(self, call: CallStart, record: StepRecord | None) -> None:
        if record is None:
            return
        self.metrics.call(record)
        ctx = CURRENT.get()
        if ctx is not None:
            ctx.provider = record.provider

    def on_answer(self, call: CallStart, completion: Completion) -> Completion | None:
        return None

    def on_decision(self, record: StepRecord) -> None:
        self.metrics.decisions.inc((record.model, record.action))
        ctx = CURRENT.get()
        if ctx is not None and ctx.span is not None:
            ctx.span.add_event("cascadeflow.decision", {
                "cascadeflow.tier": record.tier, "cascadeflow.model": record.model,
                "cascadeflow.action": record.action, "cascadeflow.reason": record.reason,
                "cascadeflow.cost_usd": float(record.cost),
            })
