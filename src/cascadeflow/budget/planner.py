"""Plan one call's reservation from the budget that is left: never refuse while a shorter answer is affordable.

Pure functions over Decimal prices. The agent's budget wrapper asks the store for up to the full worst case
(prompt + requested ``max_tokens``, or the model's default when none was given) and at least the smallest
acceptable call, then plans with what it was granted: ``max_tokens`` shrinks to what that amount pays for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from cascadeflow.budget.money import MoneyLike, to_decimal
from cascadeflow.errors import ConfigError

_PER_MILLION = Decimal(1_000_000)
# Chat templates wrap each message in a few special tokens (role markers, separators) and prime the answer.
MESSAGE_OVERHEAD_TOKENS = 8
REPLY_PRIMING_TOKENS = 8


@dataclass(frozen=True, slots=True)
class TokenPrice:
    """USD per input token and per output token (exact)."""

    input_per_token: Decimal
    output_per_token: Decimal

    def __post_init__(self) -> None:
        if self.input_per_token < 0 or self.output_per_token < 0:
            raise ConfigError("TokenPrice", "prices must be >= 0")

    @classmethod
    def per_million(cls, input_usd: MoneyLike, output_usd: MoneyLike) -> TokenPrice:
        """From the usual USD-per-1M-tokens figures."""
        return cls(
            to_decimal(input_usd, "TokenPrice.input") / _PER_MILLION,
            to_decimal(output_usd, "TokenPrice.output") / _PER_MILLION,
        )

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        return input_tokens * self.input_per_token + output_tokens * self.output_per_token


@dataclass(frozen=True, slots=True)
class CallPlan:
    """Reserve ``reserve`` USD and send ``max_tokens``; ``shrunk`` when that is less than was asked for."""

    reserve: Decimal
    max_tokens: int
    shrunk: bool
    requested_max_tokens: int


@dataclass(frozen=True, slots=True)
class CannotAfford:
    """Not even the prompt plus ``min_output_tokens`` fits in what is left."""

    needed: Decimal
    remaining: Decimal
    reason: str


def plan_call(
    remaining: Decimal | None,
    price: TokenPrice,
    prompt_tokens: int,
    max_tokens: int | None,
    *,
    default_max_tokens: int,
    min_output_tokens: int = 1,
) -> CallPlan | CannotAfford:
    """The reservation for one call, and the ``max_tokens`` it can pay for (``remaining=None``: no limit).

    ``prompt_tokens`` must be an upper bound (see :func:`prompt_tokens_upper_bound`): the reservation is only
    a ceiling on spending if neither side of the call can exceed it.
    """
    if prompt_tokens < 0 or default_max_tokens < 1 or min_output_tokens < 1:
        raise ConfigError("plan_call", "prompt_tokens must be >= 0, default/min output tokens >= 1")
    asked = default_max_tokens if max_tokens is None else max_tokens
    if asked < 1:
        raise ConfigError("max_tokens", f"must be >= 1, got {max_tokens!r}")
    full = price.cost(prompt_tokens, asked)
    if remaining is None or full <= remaining:
        return CallPlan(full, asked, shrunk=False, requested_max_tokens=asked)
    floor_tokens = min(min_output_tokens, asked)
    needed = price.cost(prompt_tokens, floor_tokens)
    if needed > remaining:
        return CannotAfford(needed, remaining, f"needs {needed} USD for the prompt and {floor_tokens} output "
                            f"token(s), {remaining} USD left")
    # output price > 0 here: with free output the full call would have cost no more than ``needed``.
    spare = remaining - price.cost(prompt_tokens, 0)
    affordable = int((spare / price.output_per_token).to_integral_value(rounding=ROUND_FLOOR))
    tokens = max(floor_tokens, min(asked, affordable))
    return CallPlan(price.cost(prompt_tokens, tokens), tokens, shrunk=True, requested_max_tokens=asked)


def prompt_tokens_upper_bound(
    texts: Iterable[str],
    *,
    per_message: int = MESSAGE_OVERHEAD_TOKENS,
    priming: int = REPLY_PRIMING_TOKENS,
) -> int:
    """A count no tokenizer of the byte-level BPE family (OpenAI, Llama 3, Qwen, Mistral, ...) can exceed.

    Every ordinary token of such a tokenizer stands for at least one UTF-8 byte, so bytes bound tokens; the
    chat template adds a few special tokens per message. Pass each message's text (and tool schemas as JSON).
    Estimating with ~4 characters per token instead is how a budget gets overshot by under-counted prompts.
    """
    count = priming
    for text in texts:
        count += len(text.encode("utf-8")) + per_message
    return count
