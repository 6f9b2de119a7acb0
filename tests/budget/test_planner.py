"""The pure reservation planner and the prompt-token bound."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cascadeflow.budget import CallPlan, CannotAfford, TokenPrice, plan_call, prompt_tokens_upper_bound
from cascadeflow.errors import ConfigError

PRICE = TokenPrice.per_million(1, 4)  # 1e-6 per input token, 4e-6 per output token


def test_full_request_fits() -> None:
    plan = plan_call(Decimal(1), PRICE, 1000, 500, default_max_tokens=8192)
    assert plan == CallPlan(Decimal("0.003"), 500, shrunk=False, requested_max_tokens=500)


def test_no_limit_and_no_max_tokens_uses_the_model_default() -> None:
    plan = plan_call(None, PRICE, 10, None, default_max_tokens=8192)
    assert isinstance(plan, CallPlan) and plan.max_tokens == 8192 and not plan.shrunk


def test_shrinks_max_tokens_to_the_remaining_budget() -> None:
    plan = plan_call(Decimal("0.002"), PRICE, 1000, None, default_max_tokens=8192)
    assert plan == CallPlan(Decimal("0.002"), 250, shrunk=True, requested_max_tokens=8192)


def test_cannot_afford_even_a_minimal_answer() -> None:
    plan = plan_call(Decimal("0.001"), PRICE, 1000, 100, default_max_tokens=8192, min_output_tokens=16)
    assert isinstance(plan, CannotAfford)
    assert plan.needed == Decimal("0.001064") and plan.remaining == Decimal("0.001")


def test_free_output_or_free_model() -> None:
    free = TokenPrice(Decimal(0), Decimal(0))
    assert plan_call(Decimal(0), free, 10**6, None, default_max_tokens=100) == CallPlan(Decimal(0), 100, False, 100)


def test_bad_inputs_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="max_tokens"):
        plan_call(None, PRICE, 10, 0, default_max_tokens=100)
    with pytest.raises(ConfigError):
        TokenPrice(Decimal(-1), Decimal(0))


def test_byte_bound_covers_multibyte_text() -> None:
    texts = ["hello", "日本語", "🙂"]
    bound = prompt_tokens_upper_bound(texts, per_message=4, priming=3)
    assert bound == 3 + (5 + 4) + (9 + 4) + (4 + 4)
    # A byte-level tokenizer cannot produce more ordinary tokens than there are bytes.
    assert bound >= sum(len(t.encode()) for t in texts)
