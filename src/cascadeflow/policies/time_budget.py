"""``time_budget_ms=``: a run's wall-clock budget ("time budget already consumed").

Each call's latency is measured per model as the run goes (and seeded from the harness's earlier runs). When
the time left is less than the planned model usually takes, the call moves to the fastest model of the cascade
that fits (``switch_model``, final); when nothing fits — or the time is gone — the run stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from cascadeflow.policies.protocol import BasePolicy, Outcome

if TYPE_CHECKING:
    from cascadeflow.cascade.hooks import CallStart
    from cascadeflow.cascade.result import StepRecord
    from cascadeflow.harness.session import RunSession

SMOOTHING = 0.3
"""Weight of the newest latency in each model's running average: recent calls matter most, one slow call less."""


class TimeBudgetPolicy(BasePolicy):
    name = "time_budget"
    limits = ("time_budget_ms",)

    def __init__(self, budget_ms: float, known_latency_ms: Mapping[str, float] | None = None) -> None:
        self.budget_ms = float(budget_ms)
        self.latency_ms: dict[str, float] = dict(known_latency_ms or {})

    def before(self, call: CallStart, run: RunSession) -> Outcome | None:
        left = self.budget_ms - run.elapsed_ms
        if left <= 0:
            return Outcome("stop", f"time budget of {self.budget_ms:.0f} ms used up ({run.elapsed_ms:.0f} ms)")
        expected = self.latency_ms.get(call.info.model)
        if expected is None or expected <= left or call.kind not in ("complete", "stream"):
            return None
        fits = [t for t in call.tiers if self.latency_ms.get(t.model, float("inf")) <= left]
        if not fits:
            return Outcome("stop", f"{left:.0f} ms left; no model answers that fast ({call.info.model}: "
                                   f"~{expected:.0f} ms)")
        fastest = min(fits, key=lambda t: self.latency_ms[t.model])
        return Outcome("switch_model", f"{left:.0f} ms left, {call.info.model} takes ~{expected:.0f} ms: "
                                       f"{fastest.model} takes ~{self.latency_ms[fastest.model]:.0f} ms",
                       tier=fastest.index)

    def after(self, call: CallStart, record: StepRecord | None, run: RunSession) -> None:
        if record is None or record.error is not None or not record.is_answer:
            return
        old = self.latency_ms.get(record.model)
        new = record.latency_ms
        self.latency_ms[record.model] = new if old is None else (1 - SMOOTHING) * old + SMOOTHING * new

    def remaining(self, run: RunSession) -> dict[str, float]:
        return {"time_ms": max(self.budget_ms - run.elapsed_ms, 0.0)}

    def extend(self, name: str, value: float) -> None:
        from cascadeflow.validate import check_number

        check_number(name, value)
        self.budget_ms += float(value)
