"""The run harness as the framework integrations' governor (``cascadeflow.integrations.governance``).

Framework hooks (LangChain callbacks, the Agents SDK's run hooks and tool guardrail) report model calls and tool
calls they see; this adapter turns them into decisions of every active run session:

- calls a :class:`~cascadeflow.CascadeAgent` answered (``source="cascade"``) are already seen by the sessions
  through the cascade's own hooks: not counted again;
- other model calls (``source="framework"``) are counted with their usage and price — unless the harness's
  ``openai``/``anthropic`` instrumentation already recorded that very call (the framework called the SDK inside
  the reported call), which it marks so the framework's report is skipped;
- a tool call the framework is about to run is checked against the sessions' ``max_tool_calls`` (a cascade's
  tool calls were already counted and capped when its answer came back).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal

from cascadeflow.cascade.hooks import active_hooks
from cascadeflow.cascade.result import StepRecord
from cascadeflow.errors import BudgetExceededError
from cascadeflow.harness.session import RunSession
from cascadeflow.pricing import Price
from cascadeflow.types import Usage

Source = Literal["cascade", "framework"]


@dataclass(slots=True)
class _FrameworkCall:
    model: str
    recorded_by_sdk: bool = False
    started: float = field(default_factory=time.perf_counter)


_IN_FLIGHT: Final[contextvars.ContextVar[_FrameworkCall | None]] = contextvars.ContextVar(
    "cascadeflow_framework_call", default=None)


def note_sdk_call() -> None:
    """Called by the SDK instrumentation when it records a call: a framework's report of it is then skipped."""
    call = _IN_FLIGHT.get()
    if call is not None:
        call.recorded_by_sdk = True


class SessionsGovernor:
    """Governs framework calls with every active run session (an inner run's calls also count outside)."""

    def __init__(self, sessions: Sequence[RunSession]) -> None:
        self.sessions = tuple(sessions)

    def before_call(self, model: str) -> None:
        for session in self.sessions:
            left = session.remaining_budget
            if session.enforcing and (session.stopped is not None or (left is not None and left <= 0)):
                raise BudgetExceededError(f"run budget of ${session.budget} is spent; not calling {model}",
                                          user_id=session.user_id, window="run", spent=session.spent,
                                          limit=session.budget)
        _IN_FLIGHT.set(_FrameworkCall(model))

    def record_call(self, model: str, usage: Usage, cost: Decimal | None, *, source: Source) -> None:
        call = _IN_FLIGHT.get()
        _IN_FLIGHT.set(None)
        if source == "cascade" or (call is not None and call.recorded_by_sdk):
            return  # the sessions saw this call already
        price = _price(model)
        spent = cost if cost is not None else (Decimal(0) if price is None else price.cost(usage))
        latency = 0.0 if call is None else (time.perf_counter() - call.started) * 1000.0
        record = StepRecord(tier=0, model=model, provider="framework", action="final", usage=usage, cost=spent,
                            reason=f"{model} answered a call the framework made directly.", latency_ms=latency,
                            started_at=time.time())
        for session in self.sessions:
            session.record_external(record, priced=cost is not None or price is not None)
        for session in self.sessions:
            left = session.remaining_budget
            if session.enforcing and left is not None and left < 0:
                raise BudgetExceededError(f"run budget of ${session.budget} passed by a call to {model}",
                                          user_id=session.user_id, window="run", spent=session.spent,
                                          limit=session.budget)

    def allow_tool_call(self, name: str, *, source: Source) -> bool:
        if source == "cascade":
            return True  # counted and capped when the cascade's answer came back
        return all([session.allow_external_tool(name) for session in self.sessions])


def _price(model: str) -> Price | None:
    from cascadeflow.price_cache import PriceCache

    rate = PriceCache().lookup(model, "openai")
    return None if rate is None else Price(rate.input_per_1m, rate.output_per_1m, source="genai-prices")


def active_sessions_governor() -> SessionsGovernor | None:
    sessions = [h for h in active_hooks() if isinstance(h, RunSession)]
    return SessionsGovernor(sessions) if sessions else None
