"""``budget=``: a run's USD budget, reserved before each call from its worst case and settled after.

Before a call the worst case is the prompt's byte bound plus ``max_tokens`` (4,096 when the request sets none)
at the tier's price. When the run's remaining budget (minus what calls in flight hold) cannot pay it, the policy
first looks for a way to go on: a cheaper tier of the cascade that can pay the whole request (``switch_model``),
else ``max_tokens`` shrunk to what the budget can pay on this tier (``degrade``), else a cheaper tier with a
shrunk answer; only when nothing fits does it ``stop``. The reservation is the session's; the real cost settles it.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Final

from cascadeflow.budget.agent_hooks import DEFAULT_MAX_TOKENS, request_texts
from cascadeflow.budget.planner import prompt_tokens_upper_bound
from cascadeflow.policies.protocol import BasePolicy, Outcome

if TYPE_CHECKING:
    from cascadeflow.cascade.hooks import CallStart, TierInfo
    from cascadeflow.harness.session import RunSession
    from cascadeflow.pricing import Price
    from cascadeflow.types import CompletionRequest

_MILLION: Final = Decimal(1_000_000)
MIN_ANSWER_TOKENS: Final = 16
"""A shrunk answer shorter than this is not worth the call: stop instead."""


def worst_case_cost(request: CompletionRequest, price: Price, max_tokens: int | None = None) -> Decimal:
    """The most a call can cost: every prompt byte a token, and the whole ``max_tokens`` of answer."""
    prompt = prompt_tokens_upper_bound(request_texts(request))
    answer = max_tokens if max_tokens is not None else (request.max_tokens or DEFAULT_MAX_TOKENS)
    return (prompt * price.input_per_1m + answer * price.output_per_1m) / _MILLION


def affordable_tokens(request: CompletionRequest, price: Price, left: Decimal) -> int:
    """The longest answer ``left`` USD pays for on this price (0 when not even the prompt fits)."""
    prompt_cost = prompt_tokens_upper_bound(request_texts(request)) * price.input_per_1m / _MILLION
    if left <= prompt_cost:
        return 0
    if price.output_per_1m == 0:
        return request.max_tokens or DEFAULT_MAX_TOKENS
    tokens = ((left - prompt_cost) * _MILLION / price.output_per_1m).to_integral_value(rounding=ROUND_FLOOR)
    return min(int(tokens), request.max_tokens or DEFAULT_MAX_TOKENS)


class BudgetPolicy(BasePolicy):
    """The run's budget (see the module docstring)."""

    name = "budget"

    def __init__(self, budget: Decimal) -> None:
        self.budget = budget

    def before(self, call: CallStart, run: RunSession) -> Outcome | None:
        left = run.remaining_budget
        if left is None:
            return None
        if call.info.price.source == "unknown":
            return Outcome("warn", f"no price known for {call.info.model}: its cost cannot be checked or counted")
        need = run.worst_case(call)
        if need <= left:
            return None
        why = f"worst case ${need:.6f} > ${max(left, Decimal(0)):.6f} left of ${run.budget}"
        cheaper = sorted((t for t in call.tiers if _cheaper(t, call.info) and t.index in _allowed(call)),
                         key=lambda t: t.price.blended_per_1m)
        for tier in cheaper:
            if worst_case_cost(call.request, tier.price) <= left:
                return Outcome("switch_model", f"{why}: {tier.model} can pay for it", tier=tier.index, cost=need)
        tokens = affordable_tokens(call.request, call.info.price, left)
        if tokens >= MIN_ANSWER_TOKENS:
            return Outcome("degrade", f"{why}: max_tokens {tokens} is what is left", request=_sized(call, tokens),
                           cost=need)
        for tier in cheaper:
            tokens = affordable_tokens(call.request, tier.price, left)
            if tokens >= MIN_ANSWER_TOKENS:
                return Outcome("switch_model", f"{why}: {tier.model} with max_tokens {tokens}", tier=tier.index,
                               request=_sized(call, tokens), cost=need)
        return Outcome("stop", f"{why}: no tier can answer within the budget", cost=need)


def _cheaper(tier: TierInfo, than: TierInfo) -> bool:
    return tier.price.blended_per_1m < than.price.blended_per_1m


def _allowed(call: CallStart) -> frozenset[int]:
    return frozenset(call.planned) | frozenset(range(call.tier))


def _sized(call: CallStart, tokens: int) -> CompletionRequest:
    return replace(call.request, max_tokens=tokens)
