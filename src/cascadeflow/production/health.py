"""Health from the call records every run already makes (the production guide's ``HealthMonitor`` and
``health_check``).

:class:`HealthMonitor` keeps no bookkeeping of its own: it holds the last ``window_size`` answer calls'
:class:`~cascadeflow.cascade.result.StepRecord` s — fed as a run hook (``CascadeAgent(hooks=[monitor])``, every
tier call of every run) or from results (:meth:`HealthMonitor.record_result`) — and derives latency, error
rate and cost from them. A call counts as an error when it failed (``action="fallback"``: the endpoint errored
or answered garbage and the next tier was asked); drafts that were rejected are not errors.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cascadeflow.cascade.result import StepRecord
from cascadeflow.validate import check_int, check_number

if TYPE_CHECKING:
    from cascadeflow.cascade.hooks import CallDirective, CallStart
    from cascadeflow.cascade.result import CascadeResult
    from cascadeflow.cascade_agent import CascadeAgent
    from cascadeflow.types import Completion


@dataclass(frozen=True, slots=True)
class HealthThresholds:
    """When the window stops being healthy; the defaults are the production guide's."""

    max_error_rate_pct: float = 10.0
    """More than one call in ten failing means an endpoint is down or rejecting us: unhealthy."""
    max_avg_latency_ms: float = 5000.0
    """Average calls slower than 5 s: users notice and interactive timeouts start to bite: degraded."""

    def __post_init__(self) -> None:
        check_number("HealthThresholds.max_error_rate_pct", self.max_error_rate_pct, hi=100.0)
        check_number("HealthThresholds.max_avg_latency_ms", self.max_avg_latency_ms)


class HealthMonitor:
    """Rolling health of the last ``window_size`` answer calls; a :class:`~cascadeflow.cascade.hooks.RunHooks`.

    ``get_health()`` → ``{"status": healthy|degraded|unhealthy|unknown, "reason", "metrics": {avg_latency_ms,
    p95_latency_ms, error_rate_pct, avg_cost, uptime_seconds, calls}}``.
    """

    def __init__(self, window_size: int = 100, *, thresholds: HealthThresholds | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        check_int("HealthMonitor.window_size", window_size, lo=1)
        self.window_size = window_size
        self.thresholds = thresholds or HealthThresholds()
        self._clock = clock
        self._records: deque[StepRecord] = deque(maxlen=window_size)
        self.start_time = clock()

    # ----------------------------------------------------------------- feeding
    def record(self, step: StepRecord) -> None:
        """Add one call record (verify and shadow calls are not answers and are skipped)."""
        if step.is_answer:
            self._records.append(step)

    def record_request(self, latency_ms: float, cost: float, error: bool = False) -> None:
        """The guide's manual feed, for calls made outside an agent: stored as the same kind of call record."""
        check_number("latency_ms", latency_ms)
        check_number("cost", cost)
        self.record(StepRecord(tier=0, model="", provider="", action="fallback" if error else "final",
                               reason="recorded by hand", cost=Decimal(str(cost)), latency_ms=float(latency_ms),
                               error="error" if error else None))

    def record_result(self, result: CascadeResult) -> None:
        """Add every call of one finished run."""
        self.record_all(result.steps)

    def record_all(self, steps: Iterable[StepRecord]) -> None:
        for step in steps:
            self.record(step)

    @property
    def records(self) -> tuple[StepRecord, ...]:
        return tuple(self._records)

    # ----------------------------------------------------------------- as run hooks
    async def on_call_start(self, call: CallStart) -> CallDirective | None:
        return None

    async def on_call_end(self, call: CallStart, record: StepRecord | None) -> None:
        if record is not None:
            self.record(record)

    def on_answer(self, call: CallStart, completion: Completion) -> Completion | None:
        return None

    def on_decision(self, record: StepRecord) -> None:
        return None

    # ----------------------------------------------------------------- reading
    def get_health(self) -> dict[str, Any]:
        records = list(self._records)
        uptime = round(self._clock() - self.start_time, 2)
        if not records:
            return {"status": "unknown", "reason": "no calls recorded yet", "metrics": {"uptime_seconds": uptime,
                                                                                        "calls": 0}}
        latencies = sorted(r.latency_ms for r in records)
        avg_latency = sum(latencies) / len(latencies)
        errors = sum(1 for r in records if r.action == "fallback")
        error_rate = errors / len(records) * 100.0
        avg_cost = sum((r.cost for r in records), Decimal(0)) / len(records)
        limits = self.thresholds
        if error_rate > limits.max_error_rate_pct:
            status, reason = "unhealthy", f"High error rate: {error_rate:.1f}%"
        elif avg_latency > limits.max_avg_latency_ms:
            status, reason = "degraded", f"High latency: {avg_latency:.0f}ms"
        else:
            status, reason = "healthy", "All metrics normal"
        return {
            "status": status,
            "reason": reason,
            "metrics": {
                "avg_latency_ms": round(avg_latency, 2),
                "p95_latency_ms": round(latencies[min(math.ceil(0.95 * len(latencies)) - 1, len(latencies) - 1)], 2),
                "error_rate_pct": round(error_rate, 2),
                "avg_cost": float(round(avg_cost, 6)),
                "uptime_seconds": uptime,
                "calls": len(records),
            },
        }


async def health_check(agent: CascadeAgent, query: str = "test", *, max_tokens: int = 5,
                       clock: Callable[[], float] = time.perf_counter) -> dict[str, Any]:
    """One tiny real query through the whole cascade: ``{"status": "healthy", "latency_ms", "model", "cost"}``
    or ``{"status": "unhealthy", "error"}`` — for a liveness/readiness endpoint. Only cascadeflow's errors
    mean unhealthy; anything else is a bug and raises."""
    from cascadeflow.errors import CascadeFlowError

    start = clock()
    try:
        result = await agent.run(query, options={"max_tokens": max_tokens})
    except CascadeFlowError as exc:
        return {"status": "unhealthy", "error": f"{type(exc).__name__}: {exc}"}
    return {"status": "healthy", "latency_ms": round((clock() - start) * 1000.0, 2), "model": result.model_used,
            "cost": float(result.total_cost)}
