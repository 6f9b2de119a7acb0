"""Every provider call of a run made the same way: the run's hooks are asked before, one record is made after.

:class:`CallGate` belongs to one run. ``begin`` asks each hook (see :mod:`cascadeflow.cascade.hooks`) whether and
how the call goes ahead — it may shrink the request, switch the call to another tier, or stop the run by raising;
``end`` hands every hook the call's :class:`~cascadeflow.cascade.result.StepRecord` (or None when a hook stopped the
call before it was made), and ``decided`` the records that carry a cascade decision. With no hooks, ``begin`` only
reads two clocks: the path of an ungoverned run stays as cheap as before.

:class:`ScoreRecorder` gives a validator the next tier's provider so that a verify-by-scoring call is a call like
any other: asked through the hooks, recorded with its cost (kind ``score``, action ``verify``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cascadeflow.cascade.hooks import CallStart, Proceed, RunHooks, SwitchTier, TierInfo
from cascadeflow.cascade.result import Action, CallKind, StepRecord
from cascadeflow.errors import ProviderError
from cascadeflow.providers.wrapper import WrapperProvider
from cascadeflow.types import Completion, CompletionRequest, Message, TokenLogprob, Usage

if TYPE_CHECKING:
    from cascadeflow.pricing import Price
    from cascadeflow.providers.protocol import Provider

DECISIONS: frozenset[Action] = frozenset({"accept", "escalate", "final", "fallback"})
SCORE_MAX_TOKENS = 1
"""A scoring call reads prompt + draft in one prefill and generates nothing; a budget reserves for the prompt."""


def new_run_id() -> str:
    return os.urandom(16).hex()  # 128 random bits, like uuid4, at a third of its cost


@dataclass(frozen=True, slots=True)
class Begun:
    """A call that may go ahead: on which tier, with which request, and since when."""

    kind: CallKind
    tier: int
    request: CompletionRequest
    started_at: float
    """Wall-clock start (``time.time()``), for records and ledgers."""
    clock: float
    """``time.perf_counter()`` at the start, for the call's latency."""
    call: CallStart | None = None
    switched: str | None = None
    """Why a hook moved the call to another tier, or None."""
    final: bool = False
    """A hook's switch ended the cascade here (its answer is final)."""

    def latency_ms(self) -> float:
        return (time.perf_counter() - self.clock) * 1000.0


@dataclass(slots=True)
class CallGate:
    """The hooks and identity of one run."""

    run_id: str
    hooks: tuple[RunHooks, ...]
    tiers: tuple[TierInfo, ...]
    user_id: str | None = None
    complexity: str = ""
    calls: int = 0
    answers: int = 0

    async def begin(self, kind: CallKind, tier: int, request: CompletionRequest,
                    planned: Sequence[int] = ()) -> Begun:
        started_at, clock = time.time(), time.perf_counter()
        if not self.hooks:
            return Begun(kind, tier, request, started_at, clock)
        self.calls += 1
        position = self.answers if kind in ("complete", "stream") else self.calls - 1
        if kind in ("complete", "stream"):
            self.answers += 1
        call = CallStart(self.run_id, f"{self.run_id}-{self.calls}", kind, tier, request, self.tiers, tuple(planned),
                         self.complexity, position)
        switched: str | None = None
        final = False
        asked: list[RunHooks] = []
        try:
            for hook in self.hooks:
                asked.append(hook)
                directive = await hook.on_call_start(call)
                if isinstance(directive, SwitchTier) and kind in ("complete", "stream") and directive.tier != tier:
                    call = replace(call, tier=directive.tier, request=directive.request)
                    switched, final = directive.reason, final or directive.final
                elif isinstance(directive, Proceed | SwitchTier):
                    call = replace(call, request=directive.request)
        except BaseException:
            for hook in asked[:-1]:  # the ones that let it through may hold something for it (a reservation)
                await hook.on_call_end(call, None)
            raise
        return Begun(kind, call.tier, call.request, started_at, clock, call, switched, final)

    def answered(self, begun: Begun, completion: Completion) -> Completion:
        """Let every hook see (and possibly change) a tier's answer before it is judged."""
        if begun.call is not None:
            for hook in self.hooks:
                changed = hook.on_answer(begun.call, completion)
                if changed is not None:
                    completion = changed
        return completion

    async def end(self, begun: Begun, record: StepRecord | None) -> None:
        if begun.call is not None:
            for hook in self.hooks:
                await hook.on_call_end(begun.call, record)

    def decided(self, record: StepRecord) -> None:
        if record.action in DECISIONS:
            for hook in self.hooks:
                hook.on_decision(record)

    def stamp(self, begun: Begun) -> dict[str, object]:
        """The identity fields every record of this call carries."""
        return {"run_id": self.run_id, "started_at": begun.started_at, "kind": begun.kind, "user_id": self.user_id}


class ScoreRecorder(WrapperProvider):
    """The next tier's provider as a validator sees it: ``score`` goes through the gate and leaves a record."""

    def __init__(self, inner: Provider, *, gate: CallGate, tier: int, name: str, provider: str, price: Price,
                 request: CompletionRequest, prompt_tokens: int, sink: list[StepRecord]) -> None:
        super().__init__(inner)
        self._gate, self._tier, self._name, self._provider = gate, tier, name, provider
        self._price, self._request, self._prompt_tokens, self._sink = price, request, prompt_tokens, sink

    async def score(self, messages: Sequence[Message], text: str) -> tuple[TokenLogprob, ...]:
        request = replace(self._request, messages=(*messages, Message(role="assistant", content=text)),
                          max_tokens=SCORE_MAX_TOKENS, stop=(), tools=(), tool_choice=None)
        begun = await self._gate.begin("score", self._tier, request)
        try:
            tokens = await super().score(messages, text)
        except ProviderError as exc:
            self._record(begun, Usage(), error=f"{type(exc).__name__}: {exc}")
            await self._gate.end(begun, self._sink[-1])
            raise
        except BaseException:
            await self._gate.end(begun, None)
            raise
        # The scorer reads prompt + draft once; it reports only the draft's tokens, so the prompt's count is the
        # drafter's (another tokenizer may count a few more or fewer): marked as estimated.
        self._record(begun, Usage(input_tokens=self._prompt_tokens + len(tokens), output_tokens=0))
        await self._gate.end(begun, self._sink[-1])
        return tokens

    def _record(self, begun: Begun, usage: Usage, *, error: str | None = None) -> None:
        outcome = "failed" if error else "scored the draft"
        self._sink.append(StepRecord(
            tier=self._tier, model=self._name, provider=self._provider, action="verify",
            reason=f"{self._name} {outcome} (verify-by-scoring, one prefill pass).", usage=usage,
            cost=self._price.cost(usage), latency_ms=begun.latency_ms(), error=error, usage_estimated=True,
            **self._gate.stamp(begun),  # type: ignore[arg-type]
        ))
