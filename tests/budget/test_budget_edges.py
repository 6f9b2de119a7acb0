"""Acceptance: the situations where a check-then-add proxy overshoots or refuses falsely, each at 0% here.

400 concurrent calls, one user, a $0.50 budget, in one process (the multi-process cases are in
test_shared_ledgers.py): an under-estimated prompt, requests without ``max_tokens``, admission by a check
that holds nothing. A simulated provider reports real usage; the tracker settles to it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from decimal import Decimal

from cascadeflow.budget import (
    BudgetConfig,
    CostTracker,
    TokenPrice,
    prompt_tokens_upper_bound,
)
from cascadeflow.errors import BudgetExceededError

BUDGET = Decimal("0.50")
CALLS = 400
PRICE = TokenPrice.per_million("2.50", "10.00")
DEFAULT_MAX_TOKENS = 16_384


def real_prompt_tokens(text: str) -> int:
    """What a byte-level BPE tokenizer roughly reports: ~4 ASCII chars per token, ~1 token per CJK char/emoji."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return ascii_chars // 4 + (len(text) - ascii_chars) + 8


def naive_estimate(text: str) -> int:
    return len(text) // 4


def enforcing_tracker() -> CostTracker:
    return CostTracker(
        user_budgets={"u": BudgetConfig(daily=BUDGET)}, enforcement_mode="enforce", hold_wait=60.0
    )


async def serve(
    tracker: CostTracker, prompt: str, estimate: Callable[[str], int], max_tokens: int | None, answer_tokens: int,
    rng: random.Random,
) -> Decimal:
    try:
        held = await tracker.areserve_call(
            "u", model="gpt-4o", price=PRICE, prompt_tokens=estimate(prompt), max_tokens=max_tokens,
            default_max_tokens=DEFAULT_MAX_TOKENS,
        )
    except BudgetExceededError:
        return Decimal(0)
    await asyncio.sleep(rng.uniform(0, 0.003))
    assert held.max_tokens is not None
    used_in, used_out = real_prompt_tokens(prompt), min(answer_tokens, held.max_tokens)
    cost = PRICE.cost(used_in, used_out)
    await tracker.acommit(held, cost, input_tokens=used_in, output_tokens=used_out)
    return cost


def run_load(tracker: CostTracker, prompt: str, estimate: Callable[[str], int], max_tokens: int | None,
             answer_tokens: int) -> list[Decimal]:
    rng = random.Random(7)

    async def main() -> list[Decimal]:
        return list(await asyncio.gather(*(
            serve(tracker, prompt, estimate, max_tokens, answer_tokens, rng) for _ in range(CALLS)
        )))

    return asyncio.run(main())


CJK_PROMPT = "请把下面的句子翻译成英文并解释语法。" * 100 + " thanks 🙏"


def test_under_estimated_prompt_overshoots_with_a_guess_but_never_with_the_byte_bound() -> None:
    guessed = enforcing_tracker()
    run_load(guessed, CJK_PROMPT, naive_estimate, 200, 150)
    assert guessed.spent("u") > BUDGET  # what a chars/4 estimate does: settles above what it reserved
    assert guessed.stats.overruns > 0

    bounded = enforcing_tracker()
    costs = run_load(bounded, CJK_PROMPT, lambda text: prompt_tokens_upper_bound([text]), 200, 150)
    total = sum(costs, Decimal(0))
    assert total == bounded.spent("u") <= BUDGET
    assert bounded.stats.overruns == 0
    assert len(bounded.records("u")) == sum(1 for c in costs if c > 0)


def test_requests_without_max_tokens_are_shrunk_not_refused() -> None:
    tracker = enforcing_tracker()
    prompt = "Summarise the attached meeting notes in three bullet points. " * 12
    costs = run_load(tracker, prompt, lambda text: prompt_tokens_upper_bound([text]), None, 300)
    served = sum(1 for c in costs if c > 0)
    total = sum(costs, Decimal(0))
    smallest_call = PRICE.cost(prompt_tokens_upper_bound([prompt]), 1)
    assert total <= BUDGET
    assert BUDGET - total < smallest_call  # refused only once even a one-token answer no longer fit
    assert served >= 100  # vs a proxy that reserves 16,384 tokens per call and serves a handful
    assert any(r.output_tokens < 300 for r in tracker.records("u")) or served == CALLS


def test_a_check_that_holds_nothing_cannot_admit_anyone() -> None:
    tracker = enforcing_tracker()
    cost = Decimal("0.005")  # the budget pays exactly 100 of the 400 calls
    passed_check: list[bool] = []

    async def gated() -> Decimal:
        ok, _, _ = tracker.can_afford("u", cost)
        passed_check.append(ok)
        if not ok:
            return Decimal(0)
        await asyncio.sleep(0)  # every call passes the check before any has spent
        try:
            held = await tracker.areserve("u", cost)
        except BudgetExceededError:
            return Decimal(0)
        await asyncio.sleep(0)
        await tracker.acommit(held, cost)
        return cost

    async def main() -> list[Decimal]:
        return list(await asyncio.gather(*(gated() for _ in range(CALLS))))

    spent = sum(asyncio.run(main()), Decimal(0))
    assert all(passed_check)  # check-then-add would have admitted all 400: +300%
    assert spent == tracker.spent("u") == BUDGET
    # The API offers no way to add spending that skips a held reservation.
    public = {name for name in dir(CostTracker) if not name.startswith("_")}
    assert not public & {"add_cost", "record_cost", "record", "add", "track", "charge"}
