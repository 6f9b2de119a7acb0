"""``CascadeAgent(cost_tracker=...)``: every provider call of the agent reserves before and settles after.

The tracker is plugged in through the cascade's run hooks (:mod:`cascadeflow.cascade.hooks`), not a second
accounting path: before each call (a tier's answer, a verifier's scoring call) the worst case — the prompt's
byte bound plus ``max_tokens`` at the tier's price — is reserved for the request's ``user_id``; when the budget
cannot pay it all, ``max_tokens`` is shrunk to what it can; a ``degrade`` decision moves the call to the cascade's
cheapest tier; a ``block`` raises :class:`~cascadeflow.errors.BudgetExceededError`. After the call the reservation
is committed at the call's real cost (the provider's, or tokens × price), or released when the call failed.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

from cascadeflow.budget.planner import TokenPrice, prompt_tokens_upper_bound
from cascadeflow.cascade.hooks import CallDirective, CallStart, Proceed, SwitchTier, TierInfo

if TYPE_CHECKING:
    from cascadeflow.budget.reservation import Reservation
    from cascadeflow.budget.tracker import CostTracker
    from cascadeflow.cascade.result import StepRecord
    from cascadeflow.types import Completion, CompletionRequest

DEFAULT_MAX_TOKENS = 4096
"""What a call without ``max_tokens`` is reserved for: a long answer of most chat models. When the budget has less
left, the call is sent with the ``max_tokens`` it can pay for instead of being refused."""


def request_texts(request: CompletionRequest) -> list[str]:
    """Everything that counts as prompt tokens: message texts, tool calls' arguments, tool schemas."""
    texts = [m.content or "" for m in request.messages]
    texts += [call.arguments for m in request.messages for call in m.tool_calls]
    texts += [json.dumps(tool.to_openai(), separators=(",", ":")) for tool in request.tools]
    return texts


class TrackerHooks:
    """Run hooks over one :class:`CostTracker`; holds each call's reservation from start to end."""

    def __init__(self, tracker: CostTracker, *, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        self.tracker = tracker
        self.default_max_tokens = default_max_tokens
        self._held: dict[str, Reservation] = {}

    async def _reserve(self, call: CallStart, tier: TierInfo) -> Reservation:
        price = TokenPrice.per_million(tier.price.input_per_1m, tier.price.output_per_1m)
        return await self.tracker.areserve_call(
            call.user_id, model=tier.model, price=price, prompt_tokens=prompt_tokens_upper_bound(request_texts(
                call.request)), max_tokens=call.request.max_tokens, default_max_tokens=self.default_max_tokens,
            metadata=call.request.metadata, request_id=call.call_id,
        )

    async def on_call_start(self, call: CallStart) -> CallDirective | None:
        held = await self._reserve(call, call.info)
        cheapest = min(call.tiers, key=lambda t: t.price.blended_per_1m)
        degrade = held.action == "degrade" and call.kind in ("complete", "stream")
        if degrade and cheapest.price.blended_per_1m < call.info.price.blended_per_1m:
            await self.tracker.arelease(held)
            held = await self._reserve(replace(call, tier=cheapest.index), cheapest)
            self._held[call.call_id] = held
            reason = f"budget degrade: {held.decision.reason}"
            return SwitchTier(cheapest.index, self._sized(call.request, held), reason)
        self._held[call.call_id] = held
        if held.max_tokens is not None and held.max_tokens != call.request.max_tokens:
            return Proceed(self._sized(call.request, held), note=f"max_tokens {held.max_tokens}: what the budget pays")
        return None

    @staticmethod
    def _sized(request: CompletionRequest, held: Reservation) -> CompletionRequest:
        return request if held.max_tokens is None else replace(request, max_tokens=held.max_tokens)

    async def on_call_end(self, call: CallStart, record: StepRecord | None) -> None:
        held = self._held.pop(call.call_id, None)
        if held is None:
            return
        if record is None or (record.error is not None and not record.cost):  # failed before costing anything
            await self.tracker.arelease(held)
            return
        await self.tracker.acommit(held, record.cost, input_tokens=record.usage.input_tokens,
                                   output_tokens=record.usage.output_tokens, model=record.model)

    def on_answer(self, call: CallStart, completion: Completion) -> Completion | None:
        return None

    def on_decision(self, record: StepRecord) -> None:
        return None
