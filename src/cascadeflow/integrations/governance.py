"""The seam between framework hooks and a governed run (budgets, tool-call caps).

Framework adapters do not decide anything about budgets: they report what the framework does to a
:class:`RunGovernor` and let it decide. The run harness (``cascadeflow.run()`` sessions) implements this protocol
(:class:`cascadeflow.harness.governor.SessionsGovernor`); any object with these three methods works too.

Who calls what:

* ``before_call(model)`` — before every model call a framework makes (LangChain ``on_chat_model_start``,
  the Agents SDK ``on_llm_start``). Raise :class:`~cascadeflow.BudgetExceededError` to stop the run there.
* ``record_call(model, usage, cost, source=...)`` — after each call. ``source="cascade"`` marks an answer of a
  :class:`~cascadeflow.CascadeAgent` (``model`` is the tier that answered, ``usage`` and ``cost`` cover every
  tier the cascade called); a harness that already sees CascadeAgent calls itself must not count these twice.
  ``source="framework"`` is any other model the framework called (``cost`` None: price it yourself).
  Raising here stops the run after the call that crossed the limit.
* ``allow_tool_call(name, source=...)`` — before the framework executes a tool the model asked for; False
  denies it (the Agents SDK guardrail then tells the model the call was denied instead of running the tool).

Hooks find their governor as the explicit ``governor=`` argument, else :func:`active_governor` — the single
place where the harness plugs in its current session.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, Protocol, TypeAlias, runtime_checkable

from cascadeflow.types import Usage

CallSource: TypeAlias = Literal["cascade", "framework"]


@runtime_checkable
class RunGovernor(Protocol):
    """What the integrations ask of the run they are part of."""

    def before_call(self, model: str) -> None: ...

    def record_call(self, model: str, usage: Usage, cost: Decimal | None, *, source: CallSource) -> None: ...

    def allow_tool_call(self, name: str, *, source: CallSource) -> bool: ...


def active_governor() -> RunGovernor | None:
    """The governor of the run the caller is in — the active ``cascadeflow.run()`` sessions (a context-variable
    lookup, see :mod:`cascadeflow.harness.governor`) — or None outside any run."""
    from cascadeflow.harness.governor import active_sessions_governor

    return active_sessions_governor()


def resolve_governor(explicit: RunGovernor | None) -> RunGovernor | None:
    return explicit if explicit is not None else active_governor()
