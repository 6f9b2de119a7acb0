"""What the rollout guide says to look at across runs: cost per day / user / agent, calls per model, latency per
step, stop / switch / deny rates, completion rate, and the 95th percentile of run cost with a suggested cap.

Kept in memory by the harness for its most recent runs (bounded), read with ``cascadeflow.stats()`` and written
out with :meth:`RunStats.export_json`.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter, deque
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from cascadeflow.harness.session import RunSession

DEFAULT_MAX_RUNS: Final = 10_000
"""Runs kept for the percentiles: a day of a busy service, a few MB."""
CAP_HEADROOM: Final = Decimal("1.2")
"""The suggested budget cap is the 95th percentile of run cost plus 20%: above nearly every normal run, close
enough to catch a runaway loop."""
RATE_ACTIONS: Final = ("stop", "switch_model", "deny_tool", "degrade", "warn")


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(math.ceil(q * len(ordered)) - 1, 0)
    return ordered[rank]


class RunStats:
    """Aggregates of finished runs; thread-safe."""

    def __init__(self, max_runs: int = DEFAULT_MAX_RUNS) -> None:
        self._runs: deque[dict[str, Any]] = deque(maxlen=max_runs)
        self._cost_day: Counter[str] = Counter()
        self._cost_user: Counter[str] = Counter()
        self._cost_agent: Counter[str] = Counter()
        self._calls_model: Counter[str] = Counter()
        self._latency: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def add(self, session: RunSession) -> None:
        summary = session.summary()
        day = datetime.fromtimestamp(session.started_at, UTC).date().isoformat()
        cost = Decimal(str(summary["cost_total"]))
        with self._lock:
            self._runs.append(summary)
            self._cost_day[day] += cost  # type: ignore[assignment]
            self._cost_user[session.user_id or "-"] += cost  # type: ignore[assignment]
            self._cost_agent[session.name or "-"] += cost  # type: ignore[assignment]
            for record in session.records:
                self._calls_model[record.model] += 1
                self._latency.setdefault(record.model, deque(maxlen=1000)).append(record.latency_ms)

    def latency_ms(self) -> dict[str, float]:
        """Mean call latency per model (what a time budget expects a model to take)."""
        with self._lock:
            return {m: sum(v) / len(v) for m, v in self._latency.items() if v}

    def summary(self) -> dict[str, Any]:
        with self._lock:
            runs = list(self._runs)
            costs = [float(r["cost_total"]) for r in runs]
            p95 = _percentile(costs, 0.95)
            with_action = {a: sum(1 for r in runs if r["actions"].get(a)) for a in RATE_ACTIONS}
            completed = sum(1 for r in runs if not r["stopped"] and not r["error"])
            return {
                "runs": len(runs),
                "cost_per_day": {k: float(v) for k, v in sorted(self._cost_day.items())},
                "cost_per_user": {k: float(v) for k, v in sorted(self._cost_user.items())},
                "cost_per_agent": {k: float(v) for k, v in sorted(self._cost_agent.items())},
                "calls_per_model": dict(self._calls_model.most_common()),
                "latency_per_step_ms": {m: {"mean": round(sum(v) / len(v), 3), "p95": round(_percentile(list(v),
                                        0.95), 3)} for m, v in self._latency.items() if v},
                "action_rates": {a: (n / len(runs) if runs else 0.0) for a, n in with_action.items()},
                "completion_rate": completed / len(runs) if runs else 0.0,
                "run_cost_p95": p95,
                "suggested_budget_cap": float((Decimal(str(p95)) * CAP_HEADROOM).quantize(Decimal("0.0001"),
                                                                                          ROUND_CEILING)),
                "unpriced_calls": sum(int(r["unpriced_calls"]) for r in runs),
            }

    def export_json(self, path: str | Path) -> int:
        """Write the aggregates and every kept run summary; returns the number of runs written."""
        with self._lock:
            runs = list(self._runs)
        Path(path).write_text(json.dumps({"summary": self.summary(), "runs": runs}, indent=1, default=str))
        return len(runs)
