"""CostTracker on the in-memory store: decisions, modes, windows, callbacks, settling, reads."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from cascadeflow import BudgetExceededError, CascadeFlowError
from cascadeflow.budget import (
    BudgetAlert,
    BudgetConfig,
    CostTracker,
    EnforcementCallbacks,
    EnforcementContext,
    MemoryLedgerStore,
    TokenPrice,
)
from cascadeflow.errors import ConfigError


class Clock:
    """A settable wall clock for calendar windows."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


NOON = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


def tracker(**kw: Any) -> CostTracker:
    kw.setdefault("clock", Clock(NOON))
    return CostTracker(**kw)


# --- the v0.2.0 plan's callback, as written there -------------------------------------------------------------

SUBSCRIPTIONS = {"user_123": "pro", "free_user": "free"}


def my_enforcement_logic(ctx: EnforcementContext) -> tuple[str, str | None]:
    subscription = SUBSCRIPTIONS.get(ctx.user_id or "", "free")
    if subscription == "free" and ctx.budget_remaining <= 0:
        return "block", "Upgrade to Pro"
    elif subscription == "pro" and ctx.budget_remaining < 0.10:
        return "degrade", "Switching to cheaper models"
    else:
        return "allow", None


def test_plan_callback_snippet_allows_degrades_and_blocks() -> None:
    callbacks = EnforcementCallbacks(on_budget_check=my_enforcement_logic)
    t = tracker(
        user_budgets={"user_123": BudgetConfig(daily=10.00), "free_user": BudgetConfig(daily=1.00)},
        enforcement_callbacks=callbacks,
    )
    first = t.reserve("user_123", "9.95", model="gpt-4")
    assert first.action == "allow"
    t.commit(first, "9.95", input_tokens=1000, output_tokens=500)
    assert t.reserve("user_123", "0.01").action == "degrade"  # 0.05 left < 0.10

    free = t.reserve("free_user", 1)
    t.commit(free, 1)
    with pytest.raises(BudgetExceededError) as caught:
        t.reserve("free_user", "0.01")
    err = caught.value
    assert isinstance(err, CascadeFlowError)
    assert (err.user_id, err.window, err.spent, err.limit) == ("free_user", "daily", Decimal(1), Decimal(1))
    assert "Upgrade to Pro" in str(err)
    assert t.stats.blocked == 1
    assert t.can_afford("free_user", "0.01") == (False, "Upgrade to Pro", "block")


def test_context_carries_the_tightest_window_and_metadata() -> None:
    seen: list[EnforcementContext] = []

    def spy(ctx: EnforcementContext) -> None:
        seen.append(ctx)

    t = tracker(
        user_budgets={"u": BudgetConfig(hourly=1, daily=5)},
        enforcement_callbacks=EnforcementCallbacks(on_budget_check=spy),
    )
    t.commit(t.reserve("u", "0.7"), "0.7")
    t.reserve("u", "0.2", model="m", metadata={"plan": "pro"})
    ctx = seen[-1]
    assert (ctx.window, ctx.spent, ctx.budget) == ("hourly", Decimal("0.7"), Decimal(1))
    assert ctx.budget_remaining == Decimal("0.3")
    assert (ctx.model, ctx.estimated_cost, dict(ctx.metadata)) == ("m", Decimal("0.2"), {"plan": "pro"})
    assert ctx.utilization == pytest.approx(0.7)


def test_callback_without_budget_sees_infinite_budget_and_total_spend() -> None:
    seen: list[EnforcementContext] = []
    t = tracker(enforcement_callbacks=EnforcementCallbacks(on_budget_check=lambda c: seen.append(c)))
    t.commit(t.reserve("u", 2), 2)
    t.reserve("u", 1)
    assert seen[-1].spent == 2 and not seen[-1].budget.is_finite() and seen[-1].budget_remaining > 10**9
    assert seen[-1].window == "total"


def test_callback_mistakes_are_config_errors() -> None:
    bad = tracker(
        user_budgets={"u": BudgetConfig(daily=1)},
        enforcement_callbacks=EnforcementCallbacks(on_budget_check=lambda _c: ("blok", "typo")),
    )
    with pytest.raises(ConfigError, match="on_budget_check"):
        bad.reserve("u", "0.1")

    async def async_check(_ctx: EnforcementContext) -> tuple[str, str]:
        return "block", "async says no"

    t = tracker(
        user_budgets={"u": BudgetConfig(daily=1)},
        enforcement_callbacks=EnforcementCallbacks(on_budget_check=async_check),
    )
    with pytest.raises(ConfigError, match="areserve"):
        t.reserve("u", "0.1")
    with pytest.raises(BudgetExceededError, match="async says no"):
        asyncio.run(t.areserve("u", "0.1"))


# --- modes and thresholds --------------------------------------------------------------------------------------


def test_enforce_thresholds_degrade_then_block_on_committed_spend() -> None:
    t = tracker(user_budgets={"u": BudgetConfig(daily=1)}, enforcement_mode="enforce")
    t.commit(t.reserve("u", "0.85"), "0.85")
    assert t.reserve("u", "0.05").action == "degrade"
    assert t.can_afford("u", "0.2")[0] is False
    with pytest.raises(BudgetExceededError) as caught:
        t.reserve("u", "0.2")
    assert caught.value.spent == Decimal("0.85") and caught.value.limit == 1


def test_warn_mode_never_blocks_on_thresholds_and_counts_warnings() -> None:
    t = tracker(user_budgets={"u": BudgetConfig(daily=1)})  # the default mode is "warn"
    t.commit(t.reserve("u", "0.5"), "0.5")
    assert t.can_afford("u", "0.7") == (True, "would block: daily budget: 1.2 of 1 USD with this call", "warn")
    over = t.reserve("u", "0.7")
    assert over.action == "warn" and over.amount == Decimal("0.7")
    t.commit(over, "0.7")
    assert t.spent("u") == Decimal("1.2")
    assert t.stats.warned == 1


def test_observe_mode_records_a_block_without_applying_it() -> None:
    t = tracker(
        user_budgets={"u": BudgetConfig(daily=1)},
        enforcement_mode="observe",
        enforcement_callbacks=EnforcementCallbacks(on_budget_check=lambda _c: ("block", "would block")),
    )
    held = t.reserve("u", 5)
    assert held.action == "block" and held.decision.applied is False
    assert t.stats.warned == 1 and t.stats.blocked == 0


def test_off_mode_tracks_spend_without_checks() -> None:
    t = tracker(user_budgets={"u": BudgetConfig(daily=1)}, enforcement_mode="off")
    t.commit(t.reserve("u", 3), 3)
    assert t.can_afford("u", 3) == (True, "enforcement off", None)
    assert t.spent("u") == 3


def test_block_at_above_one_allows_a_declared_overdraft() -> None:
    t = tracker(user_budgets={"u": BudgetConfig(daily=1)}, enforcement_mode="enforce", block_at=1.1, hold_wait=0)
    assert t.reserve("u", "1.1").amount == Decimal("1.1")
    with pytest.raises(BudgetExceededError):
        t.reserve("u", "0.01")


def test_tracker_wide_budget_limit_spans_users() -> None:
    t = tracker(budget_limit=1, enforcement_mode="enforce", hold_wait=0)
    t.reserve("a", "0.6")
    with pytest.raises(BudgetExceededError) as caught:
        t.reserve("b", "0.6")
    assert caught.value.window == "total" and "all users" in str(caught.value)


def test_default_budget_applies_to_unlisted_users() -> None:
    t = tracker(
        user_budgets={"vip": BudgetConfig(daily=100)}, default_budget=BudgetConfig(daily=1),
        enforcement_mode="enforce",
    )
    assert t.reserve("vip", 50).amount == 50
    with pytest.raises(BudgetExceededError):
        t.reserve("someone", 2)


# --- windows -------------------------------------------------------------------------------------------------


def test_daily_window_resets_at_midnight_in_the_tracker_time_zone() -> None:
    clock = Clock(datetime(2025, 3, 14, 22, 30, tzinfo=UTC))  # 23:30 in Berlin (UTC+1 in March)
    t = CostTracker(
        user_budgets={"u": BudgetConfig(daily=1)}, enforcement_mode="enforce", timezone="Europe/Berlin",
        clock=clock, hold_wait=0,
    )
    t.commit(t.reserve("u", 1), 1)
    with pytest.raises(BudgetExceededError):
        t.reserve("u", "0.01")
    clock.now += timedelta(minutes=45)  # 00:15 Berlin, still 23:15 UTC
    assert t.reserve("u", 1).amount == 1
    assert t.spent("u", "weekly") == 1 and t.spent("u", "total") == 1


def test_unknown_window_and_time_zone_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="window"):
        tracker().spent("u", "yearly")
    with pytest.raises(ConfigError, match="timezone"):
        CostTracker(timezone="Mars/Olympus")


# --- holds: waiting instead of refusing ---------------------------------------------------------------------


def test_a_call_waits_for_an_in_flight_hold_instead_of_being_refused() -> None:
    async def scenario() -> tuple[Decimal, Decimal]:
        t = tracker(user_budgets={"u": BudgetConfig(daily=1)}, enforcement_mode="enforce")
        first = await t.areserve("u", 1)

        async def finish_first() -> None:
            await asyncio.sleep(0.02)
            await t.acommit(first, "0.4")  # the call cost less than its worst case

        settle = asyncio.create_task(finish_first())
        second = await t.areserve("u", "0.6")
        await settle
        return first.amount, second.amount

    assert asyncio.run(scenario()) == (Decimal(1), Decimal("0.6"))


def test_without_hold_wait_an_in_flight_hold_refuses_with_its_reason() -> None:
    t = tracker(user_budgets={"u": BudgetConfig(daily=1)}, enforcement_mode="enforce", hold_wait=0)
    t.reserve("u", 1)
    with pytest.raises(BudgetExceededError, match="in-flight"):
        t.reserve("u", "0.5")


def test_release_gives_the_hold_back() -> None:
    t = tracker(user_budgets={"u": BudgetConfig(daily=1)}, enforcement_mode="enforce", hold_wait=0)
    t.release(t.reserve("u", 1))
    assert t.reserve("u", 1).amount == 1
    assert t.spent("u") == 0 and t.stats.released == 1


# --- reserve_call: shrink max_tokens, never refuse what a shorter answer can pay for -----------------------------

PRICE = TokenPrice.per_million(2, 10)  # 2 USD / 1M input, 10 USD / 1M output


def test_reserve_call_holds_the_worst_case_when_it_fits() -> None:
    t = tracker(user_budgets={"u": BudgetConfig(daily=1)}, enforcement_mode="enforce")
    held = t.reserve_call("u", model="m", price=PRICE, prompt_tokens=1000, max_tokens=None, default_max_tokens=4096)
    assert held.amount == Decimal("0.04296") and held.max_tokens == 4096 and not held.shrunk


def test_reserve_call_shrinks_max_tokens_to_what_is_left() -> None:
    t = tracker(user_budgets={"u": BudgetConfig(daily="0.01")}, enforcement_mode="enforce", hold_wait=0)
    held = t.reserve_call("u", model="m", price=PRICE, prompt_tokens=1000, max_tokens=None, default_max_tokens=16384)
    assert held.shrunk and held.max_tokens == 800 and held.amount == Decimal("0.01")  # 0.002 prompt + 800 x 1e-5
    t.commit(held, "0.00995")
    tiny = t.reserve_call("u", model="m", price=PRICE, prompt_tokens=10, max_tokens=100, default_max_tokens=100)
    assert tiny.max_tokens == 3 and tiny.shrunk  # 0.00005 left: 10 prompt tokens and 3 output tokens fit
    t.commit(tiny, "0.00005")
    with pytest.raises(BudgetExceededError, match="daily window"):
        t.reserve_call("u", model="m", price=PRICE, prompt_tokens=10, max_tokens=100, default_max_tokens=100)


def test_commit_settles_at_the_reported_cost_and_flags_overruns() -> None:
    t = tracker()
    held = t.reserve("u", "0.01", model="small")
    record = t.commit(held, "0.02", input_tokens=5, output_tokens=6)
    assert record.cost == Decimal("0.02") and record.model == "small" and record.user_id == "u"
    assert t.stats.overruns == 1
    assert t.commit(held, "0.02").cost == Decimal("0.02")  # idempotent: recorded once
    assert len(t.records()) == 1


def test_bad_amounts_are_config_errors_naming_the_field() -> None:
    t = tracker()
    with pytest.raises(ConfigError, match="estimated_cost"):
        t.reserve("u", -1)
    with pytest.raises(ConfigError, match="cost"):
        t.commit(t.reserve("u", 1), "lots")
    with pytest.raises(ConfigError, match="enforcement_mode"):
        CostTracker(enforcement_mode="strict")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="degrade_at"):
        CostTracker(degrade_at=1.2, block_at=1.0)


# --- reads ------------------------------------------------------------------------------------------------------


def test_spent_records_and_totals() -> None:
    t = tracker()
    for user, model, cost in (("a", "small", "0.1"), ("b", "big", "0.25"), ("a", "big", "0.05")):
        t.commit(t.reserve(user, cost, model=model), cost, input_tokens=3, output_tokens=4)
    assert t.total_cost == Decimal("0.4")
    assert t.by_model == {"big": Decimal("0.3"), "small": Decimal("0.1")}
    assert t.by_user == {"a": Decimal("0.15"), "b": Decimal("0.25")}
    assert t.spent("a", "hourly") == Decimal("0.15")
    assert t.spent(None, "daily") == Decimal("0.4")
    assert [r.model for r in t.records("a")] == ["small", "big"]


def test_alerts_fire_once_per_window() -> None:
    heard: list[BudgetAlert] = []
    t = tracker(
        user_budgets={"u": BudgetConfig(daily=1)}, alert_threshold=0.8,
        enforcement_callbacks=EnforcementCallbacks(on_alert=heard.append),
    )
    t.commit(t.reserve("u", "0.5"), "0.5")
    assert heard == []
    t.commit(t.reserve("u", "0.3"), "0.3")
    t.commit(t.reserve("u", "0.1"), "0.1")
    assert len(heard) == 1
    assert (heard[0].window, heard[0].spent, heard[0].threshold) == ("daily", Decimal("0.8"), 0.8)


def test_a_shared_store_object_is_one_ledger() -> None:
    store = MemoryLedgerStore()
    a = tracker(store=store)
    b = tracker(store=store)
    a.commit(a.reserve("u", 1), 1)
    assert b.spent("u") == 1
