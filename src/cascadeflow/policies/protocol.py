"""The policy protocol: small classes that look at each call of a run (and the run so far) and decide.

A policy answers before a call (``before``: allow, warn, degrade the request, switch the model, stop), may look
at a tier's answer (``answer``: e.g. deny tool calls past a cap), and is told how the call ended (``after``).
It never applies anything itself: the run session records every outcome as a decision and, in ``enforce`` mode
only, carries it out — so ``observe`` records exactly what ``enforce`` would do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from cascadeflow.cascade.hooks import CallStart
    from cascadeflow.cascade.result import StepRecord
    from cascadeflow.harness.decisions import DecisionAction
    from cascadeflow.harness.session import RunSession
    from cascadeflow.types import Completion, CompletionRequest


@dataclass(frozen=True, slots=True)
class Outcome:
    """A policy's decision about one call. ``request``: the changed request (shrunk ``max_tokens``, redacted
    text); ``tier``: the tier to move the call to (``switch_model``), ``final`` if the cascade must end there;
    ``completion``: a changed answer (``deny_tool``); ``cost``: the amount the decision was about."""

    action: DecisionAction
    reason: str
    request: CompletionRequest | None = None
    tier: int | None = None
    final: bool = True
    completion: Completion | None = None
    cost: Decimal | None = None


@runtime_checkable
class Policy(Protocol):
    """One governing rule of a run."""

    @property
    def name(self) -> str: ...

    def before(self, call: CallStart, run: RunSession) -> Outcome | None: ...

    def answer(self, call: CallStart, completion: Completion, run: RunSession) -> Sequence[Outcome]:
        """Decisions about a tier's answer (e.g. one ``deny_tool`` per tool call past a cap); an outcome's
        ``completion`` is the changed answer ``enforce`` returns instead."""
        ...

    def after(self, call: CallStart, record: StepRecord | None, run: RunSession) -> None: ...


class BasePolicy:
    """No-op defaults: a policy overrides the moments it cares about."""

    name = "policy"

    def before(self, call: CallStart, run: RunSession) -> Outcome | None:
        return None

    def answer(self, call: CallStart, completion: Completion, run: RunSession) -> Sequence[Outcome]:
        return ()

    def after(self, call: CallStart, record: StepRecord | None, run: RunSession) -> None:
        return None
