"""The run-hooks protocol: how layers above the cascade (harness, budgets, gateway) see and govern every call.

The cascade never imports governance. It declares here what it will tell and ask, and higher layers implement
it: before each provider call the engine asks every hook (``on_call_start``), which may let the call proceed,
shrink its request (e.g. a smaller ``max_tokens`` the budget can pay for), switch it to another tier, or stop it
by raising a :class:`~cascadeflow.errors.CascadeFlowError` (e.g. ``BudgetExceededError``); after the call each
hook gets its :class:`~cascadeflow.cascade.result.StepRecord` (``on_call_end``), and after each accept/escalate
decision the record that says so (``on_decision``).

Hooks come from two places: the agent's own (``CascadeAgent(hooks=[...])``) and the *active* ones of the current
context (:func:`active_hooks`), which a governing layer sets for the duration of a run (``with
cascadeflow.run(): ...``). Context variables keep concurrent runs in asyncio tasks and threads apart.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

from cascadeflow.cascade.result import CallKind, StepRecord
from cascadeflow.types import Completion, CompletionRequest

if TYPE_CHECKING:
    from cascadeflow.config import ModelConfig
    from cascadeflow.pricing import Price



@dataclass(frozen=True, slots=True)
class TierInfo:
    """What a hook may know about one tier of the cascade (to pick a cheaper or faster one)."""

    index: int
    model: str
    provider: str
    price: Price
    config: ModelConfig

    @property
    def metadata(self) -> Mapping[str, object]:
        """The tier's ``ModelConfig.metadata`` (regions, data-processing terms, ...), for compliance rules."""
        return self.config.metadata


@dataclass(frozen=True, slots=True)
class CallStart:
    """One provider call about to be made."""

    run_id: str
    call_id: str
    """Unique per call (``<run_id>-<n>``): a hook keys what it holds for the call by it."""
    kind: CallKind
    tier: int
    request: CompletionRequest
    tiers: tuple[TierInfo, ...]
    """Every tier of the cascade (``tiers[tier]`` is this call's), so a hook can propose another one."""
    planned: tuple[int, ...] = ()
    """The tiers this run may still try (this one first), in order."""
    complexity: str = ""
    """The run's detected complexity level."""
    position: int = 0
    """How many calls of this kind the run made before this one (0: the run's first answer)."""

    @property
    def info(self) -> TierInfo:
        return self.tiers[self.tier]

    @property
    def user_id(self) -> str | None:
        user = self.request.metadata.get("user_id")
        return None if user is None else str(user)


@dataclass(frozen=True, slots=True)
class Proceed:
    """Make the call, with this (possibly changed) request."""

    request: CompletionRequest
    note: str = ""


@dataclass(frozen=True, slots=True)
class SwitchTier:
    """Make the call on tier ``tier`` instead.

    ``final=True`` (e.g. a cheaper tier the remaining budget can pay for): its answer ends the run, since
    escalating would undo the choice. ``final=False`` (e.g. a start tier chosen by KPI weights): the cascade goes
    on from there, to the planned tiers above it.
    """

    tier: int
    request: CompletionRequest
    reason: str
    final: bool = True


CallDirective: TypeAlias = Proceed | SwitchTier


@runtime_checkable
class RunHooks(Protocol):
    """What a governing layer implements. Raise a CascadeFlowError from ``on_call_start`` to stop the run.

    ``on_call_end`` gets the call's record, or None when the call was never made (a later hook stopped it): a
    hook that reserved something for the call releases it then. ``on_decision`` sees every record that carries a
    cascade decision (accept, escalate, final, fallback).
    """

    async def on_call_start(self, call: CallStart) -> CallDirective | None: ...

    async def on_call_end(self, call: CallStart, record: StepRecord | None) -> None: ...

    def on_answer(self, call: CallStart, completion: Completion) -> Completion | None:
        """See a tier's answer before it is judged or shown; return a changed one (e.g. tool calls over a cap
        removed) or None to keep it."""
        ...

    def on_decision(self, record: StepRecord) -> None: ...


_ACTIVE: contextvars.ContextVar[tuple[RunHooks, ...]] = contextvars.ContextVar("cascadeflow_active_hooks", default=())


def active_hooks() -> tuple[RunHooks, ...]:
    """The hooks a governing layer has made active in this context (innermost run last)."""
    return _ACTIVE.get()


def activate(hooks: RunHooks) -> contextvars.Token[tuple[RunHooks, ...]]:
    """Make ``hooks`` active in this context (after any already active); undo with :func:`deactivate`."""
    return _ACTIVE.set((*_ACTIVE.get(), hooks))


def deactivate(token: contextvars.Token[tuple[RunHooks, ...]]) -> None:
    _ACTIVE.reset(token)


@contextmanager
def activated(hooks: RunHooks) -> Iterator[None]:
    """Make ``hooks`` active for the calls made inside this block (nested blocks add theirs after the outer)."""
    token = activate(hooks)
    try:
        yield
    finally:
        deactivate(token)


def all_hooks(own: Sequence[RunHooks]) -> tuple[RunHooks, ...]:
    """The agent's own hooks, then the active ones of this context."""
    active = _ACTIVE.get()
    return (*own, *active) if own else active
