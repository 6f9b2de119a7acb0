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
    """The harness's most recent finished runs and their aggregates; thread-safe.

    Adding a run only keeps a reference (a run may be a single call, so this is on its path); every figure is
    computed when read.
    """

    def __init__(self, max_runs: int = DEFAULT_MAX_RUNS) -> None:
        self._runs: deque[RunSession] = deque(maxlen=max_runs)
        self._lock = threading.Lock()

    def add(self, session: RunSession) -> None:
        with self._lock:
            self._runs.append(session)

    def _sessions(self) -> list[RunSession]:
        with self._lock:
            return list(self._runs)

    def latency_ms(self) -> dict[str, float]:
        """Mean answer latency per model over the kept runs (what a time budget expects a model to take)."""
        latencies: dict[str, list[float]] = {}
        for session in self._sessions():
            for record in session.records:
                if record.is_answer and record.error is None:
                    latencies.setdefault(record.model, []).append(record.latency_ms)
        return {m: sum(v) / len(v) for m, v in latencies.items()}

    def summary(self) -> dict[str, Any]:
        sessions = self._sessions()
        by_day: Counter[str] = Counter()
        by_user: Counter[str] = Counter()
        by_agent: Counter[str] = Counter()
        calls: Counter[str] = Counter()
        latency: dict[str, list[float]] = {}
        costs, with_action, completed, unpriced = [], Counter[str](), 0, 0
        for session in sessions:
            cost = session.spent
            costs.append(float(cost))
            by_day[datetime.fromtimestamp(session.started_at, UTC).date().isoformat()] += cost  # type: ignore[assignment]
            by_user[session.user_id or "-"] += cost  # type: ignore[assignment]
            by_agent[session.name or "-"] += cost  # type: ignore[assignment]
            for record in session.records:
                calls[record.model] += 1
                latency.setdefault(record.model, []).append(record.latency_ms)
            with_action.update(set(session.action_counts()) & set(RATE_ACTIONS))
            completed += session.stopped is None and session.error is None
            unpriced += session.unpriced_calls
        runs = len(sessions)
        p95 = _percentile(costs, 0.95)
        return {
            "runs": runs,
            "cost_per_day": {k: float(v) for k, v in sorted(by_day.items())},
            "cost_per_user": {k: float(v) for k, v in sorted(by_user.items())},
            "cost_per_agent": {k: float(v) for k, v in sorted(by_agent.items())},
            "calls_per_model": dict(calls.most_common()),
            "latency_per_step_ms": {m: {"mean": round(sum(v) / len(v), 3), "p95": round(_percentile(v, 0.95), 3)}
                                    for m, v in latency.items()},
            "action_rates": {a: (with_action[a] / runs if runs else 0.0) for a in RATE_ACTIONS},
            "completion_rate": completed / runs if runs else 0.0,
            "run_cost_p95": p95,
            "suggested_budget_cap": float((Decimal(str(p95)) * CAP_HEADROOM).quantize(Decimal("0.0001"),
                                                                                      ROUND_CEILING)),
            "unpriced_calls": unpriced,
        }

    def export_json(self, path: str | Path) -> int:
        """Write the aggregates and every kept run's summary; returns the number of runs written."""
        sessions = self._sessions()
        runs = [s.summary() for s in sessions]
        Path(path).write_text(json.dumps({"summary": self.summary(), "runs": runs}, indent=1, default=str))
        return len(runs)
