"""One governed run: its policies, what it spent, every call and every decision — the run hooks of the cascade.

A :class:`RunSession` is made active for a block of code (``with cascadeflow.run(...)``); the cascade engine (and
the instrumented ``openai``/``anthropic`` clients) then ask it before every model call and tell it how the call
ended. Before a call, each policy may decide (allow, warn, degrade, switch_model, stop); the session records
every decision and, in ``enforce`` mode only, applies it — ``observe`` records the same decisions without
applying them. A nested run is a second active session: both see the call, so the inner run's calls also count
against the outer run's budget. Methods are thread-safe (one lock per session).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cascadeflow.cascade.hooks import CallDirective, CallStart, Proceed, SwitchTier
from cascadeflow.errors import BudgetExceededError, PolicyStopError
from cascadeflow.harness.decisions import Decision, Mode
from cascadeflow.policies.protocol import Outcome, Policy

if TYPE_CHECKING:
    from cascadeflow.cascade.result import StepRecord
    from cascadeflow.types import Completion

MS = 1000.0


class RunSession:
    """A governed run (see the module docstring). Read it with :meth:`summary`, :meth:`trace`, :meth:`remaining`."""

    def __init__(self, *, mode: Mode, policies: Sequence[Policy] = (), budget: Decimal | None = None,
                 name: str | None = None, user_id: str | None = None,
                 on_decision: Callable[[Decision], None] | None = None) -> None:
        self.run_id = os.urandom(16).hex()
        self.mode: Mode = mode
        self.policies = tuple(policies)
        self.budget = budget
        self.name = name
        self.user_id = user_id
        self.started_at = time.time()
        self.started = time.monotonic()
        self.ended: float | None = None
        self.spent = Decimal(0)
        self.reserved = Decimal(0)
        self.tool_calls = 0
        self.unpriced_calls = 0
        self.stopped: Decision | None = None
        self.error: str | None = None
        self._records: list[StepRecord] = []
        self._decisions: list[Decision] = []
        self._held: dict[str, Decimal] = {}
        self._steps: dict[str, int] = {}
        self._lock = threading.RLock()
        self._notify = on_decision
        self._estimate: tuple[tuple[int, int], Decimal] | None = None

    # ----------------------------------------------------------------------------------- what a policy reads
    @property
    def enforcing(self) -> bool:
        return self.mode == "enforce"

    @property
    def remaining_budget(self) -> Decimal | None:
        """Budget left for new calls: the budget minus what was spent and what calls in flight hold."""
        return None if self.budget is None else self.budget - self.spent - self.reserved

    @property
    def elapsed_ms(self) -> float:
        return ((self.ended or time.monotonic()) - self.started) * MS

    @property
    def records(self) -> tuple[StepRecord, ...]:
        """Every call of the run so far (its outputs, costs, latencies), oldest first."""
        with self._lock:
            return tuple(self._records)

    # ----------------------------------------------------------------------------------- run hooks
    async def on_call_start(self, call: CallStart) -> CallDirective | None:
        """Ask every policy in turn; each sees the call as the ones before it would leave it (so ``observe``
        records exactly the decisions ``enforce`` takes). Enforce applies them; observe only records."""
        with self._lock:
            step = len(self._steps) + 1
            self._steps[call.call_id] = step
            current, outcomes = call, []
            for policy in self.policies:
                outcome = policy.before(current, self)
                if outcome is None:
                    continue
                outcomes.append((policy.name, outcome))
                if outcome.action == "stop" and self.enforcing:
                    self._stop(step, current, outcomes)  # records what was decided, then raises
                current = _applied(current, outcome)
            made = current if self.enforcing else call
            held = self.worst_case(made) if self.budget is not None else Decimal(0)
            if held:
                self._held[call.call_id] = held
                self.reserved += held
            self._decide(step, call, outcomes or [("", Outcome("allow", "within every policy of the run"))], held)
        if made is call:
            return None
        if made.tier != call.tier:
            final = all(o.final for _, o in outcomes if o.tier is not None)
            return SwitchTier(made.tier, made.request, _switch_reason(outcomes), final=final)
        return Proceed(made.request)

    def on_answer(self, call: CallStart, completion: Completion) -> Completion | None:
        with self._lock:
            step = self._steps.get(call.call_id, len(self._steps))
            changed: Completion | None = None
            for policy in self.policies:
                for outcome in policy.answer(call, changed or completion, self):
                    if outcome.action == "stop" and self.enforcing:
                        self._stop(step, call, [(policy.name, outcome)])
                    self._decide(step, call, [(policy.name, outcome)], outcome.cost or Decimal(0))
                    if self.enforcing and outcome.completion is not None:
                        changed = outcome.completion
            self.tool_calls += len((changed or completion).tool_calls)
            return changed

    async def on_call_end(self, call: CallStart, record: StepRecord | None) -> None:
        with self._lock:
            self.reserved -= self._held.pop(call.call_id, Decimal(0))
            if record is not None:
                self._records.append(record)
                self.spent += record.cost
                if call.info.price.source == "unknown":  # counted as unknown, never silently as free
                    self.unpriced_calls += 1
            for policy in self.policies:
                policy.after(call, record, self)

    def on_decision(self, record: StepRecord) -> None:
        return None  # the cascade's own accept/escalate decisions are in the records

    # ----------------------------------------------------------------------------------- framework reports
    def record_external(self, record: StepRecord, *, priced: bool) -> None:
        """A model call a framework reported (one this session's hooks did not see): counted like any other."""
        with self._lock:
            self._records.append(record)
            self.spent += record.cost
            self.unpriced_calls += not priced

    def allow_external_tool(self, name: str) -> bool:
        """A tool call a framework is about to run: counted, and checked against ``max_tool_calls``."""
        with self._lock:
            step = len(self._steps) + 1
            cap = next((p for p in self.policies if getattr(p, "name", "") == "max_tool_calls"), None)
            limit = getattr(cap, "cap", None)
            if limit is not None and self.tool_calls >= limit:
                reason = f"tool call {name!r} is past the run's cap of {limit} tool calls"
                self._decisions.append(Decision(step, "deny_tool", reason, "max_tool_calls", "", Decimal(0),
                                                self.mode, self.enforcing, self.run_id, time.time()))
                if self._notify is not None:
                    self._notify(self._decisions[-1])
                if self.enforcing:
                    return False
            self.tool_calls += 1
            return True

    # ----------------------------------------------------------------------------------- bookkeeping
    def worst_case(self, call: CallStart) -> Decimal:
        """The most ``call`` can cost (its prompt's byte bound + ``max_tokens`` at its tier's price); the budget
        policy and the reservation ask for the same call, so the last answer is kept."""
        key = (id(call.request), call.tier)
        if self._estimate is not None and self._estimate[0] == key:
            return self._estimate[1]
        from cascadeflow.policies.budget import worst_case_cost

        value = worst_case_cost(call.request, call.info.price)
        self._estimate = (key, value)
        return value

    def _decide(self, step: int, call: CallStart, outcomes: list[tuple[str, Outcome]], cost: Decimal) -> None:
        now = time.time()
        for policy, outcome in outcomes:
            to_model = call.tiers[outcome.tier].model if outcome.tier is not None else None
            decision = Decision(step, outcome.action, outcome.reason, policy, call.info.model,
                                outcome.cost if outcome.cost is not None else cost, self.mode,
                                self.enforcing and outcome.action != "allow", self.run_id, now, to_model)
            self._decisions.append(decision)
            if self._notify is not None:
                self._notify(decision)

    def _stop(self, step: int, call: CallStart, outcomes: list[tuple[str, Outcome]]) -> None:
        """Enforce a stop: record the call's decisions so far, free what it holds, raise the policy's error."""
        self._decide(step, call, outcomes, self.worst_case(call))
        self.stopped = self._decisions[-1]
        self.reserved -= self._held.pop(call.call_id, Decimal(0))
        policy, outcome = outcomes[-1]
        if policy == "budget":
            raise BudgetExceededError(f"run budget: {outcome.reason}", user_id=self.user_id, window="run",
                                      spent=self.spent, limit=self.budget)
        raise PolicyStopError(f"{policy}: {outcome.reason}", policy=policy, action=outcome.action)

    # ----------------------------------------------------------------------------------- reading a run
    def trace(self) -> list[dict[str, Any]]:
        """Every decision, oldest first, as dicts: step, action, reason, policy, model, cost, mode, applied."""
        with self._lock:
            return [d.to_dict() for d in self._decisions]

    def action_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(Counter(d.action for d in self._decisions))

    def decisions(self) -> tuple[Decision, ...]:
        with self._lock:
            return tuple(self._decisions)

    def summary(self) -> dict[str, Any]:
        """Totals of the run: ``cost_total``, ``steps`` (model calls), ``latency_total_ms``, tokens, calls per
        model, tool calls, and how many decisions of each action."""
        with self._lock:
            records = list(self._records)
            actions = Counter(d.action for d in self._decisions)
            return {
                "run_id": self.run_id, "name": self.name, "mode": self.mode,
                "cost_total": float(self.spent), "steps": len(records),
                "latency_total_ms": round(sum(r.latency_ms for r in records), 3),
                "tokens_in": sum(r.usage.input_tokens for r in records),
                "tokens_out": sum(r.usage.output_tokens for r in records),
                "calls_per_model": dict(Counter(r.model for r in records)),
                "tool_calls": self.tool_calls, "actions": dict(actions), "unpriced_calls": self.unpriced_calls,
                "budget": None if self.budget is None else float(self.budget),
                "remaining": self.remaining(), "duration_ms": round(self.elapsed_ms, 3),
                "stopped": self.stopped is not None, "error": self.error,
            }

    def remaining(self) -> dict[str, float | int | None]:
        """What the run has left: ``budget`` (USD), ``tool_calls``, ``time_ms`` (None where unlimited)."""
        with self._lock:
            left = self.remaining_budget
            out: dict[str, float | int | None] = {"budget": None if left is None else float(left)}
            for policy in self.policies:
                out.update(getattr(policy, "remaining", lambda run: {})(self))
            out.setdefault("tool_calls", None)
            out.setdefault("time_ms", None)
            return out

    def extend(self, *, budget: float | Decimal | None = None, **limits: Any) -> None:
        """Give a (stopped) run more room — more budget, or a policy's higher limit (``max_tool_calls=``,
        ``time_budget_ms=``) — and let it go on; the trace is kept."""
        from cascadeflow.validate import check_number

        with self._lock:
            if budget is not None:
                check_number("budget", budget)
                self.budget = (self.budget or Decimal(0)) + Decimal(str(budget))
            for name, value in limits.items():
                owners = [p for p in self.policies if hasattr(p, "extend") and name in getattr(p, "limits", ())]
                if not owners:
                    from cascadeflow.errors import ConfigError

                    raise ConfigError(name, "no policy of this run has that limit")
                for policy in owners:
                    policy.extend(name, value)
            self.stopped = None


def _applied(call: CallStart, outcome: Outcome) -> CallStart:
    if outcome.tier is not None:
        call = replace(call, tier=outcome.tier)
    if outcome.request is not None:
        call = replace(call, request=outcome.request)
    return call


def _switch_reason(outcomes: list[tuple[str, Outcome]]) -> str:
    return "; ".join(f"{name}: {o.reason}" for name, o in outcomes if o.tier is not None)
