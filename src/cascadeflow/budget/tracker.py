"""``CostTracker``: per-user budgets over a shared ledger, spent only through reserve → commit/release.

There is deliberately no "record a cost" call that skips the check: a call's money is held atomically in the
store before it is made (``reserve`` / ``reserve_call``), then settled at the provider's reported cost
(``commit``) or given back (``release``). ``can_afford`` answers a question and holds nothing.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any, TypeVar

from cascadeflow.budget.admission import (
    PendingCall,
    alert_checks,
    call_bounds,
    call_context,
    cost_arg,
    fit_call,
    global_budget,
    pending_call,
    refusal,
    reservation_for,
    settlement_for,
    validate_settings,
)
from cascadeflow.budget.alerts import AlertWatch
from cascadeflow.budget.config import BudgetConfig
from cascadeflow.budget.enforcement import (
    Action,
    Decision,
    EnforcementCallbacks,
    EnforcementContext,
    EnforcementMode,
    parse_callback_result,
)
from cascadeflow.budget.money import MoneyLike, fmt_usd
from cascadeflow.budget.planner import TokenPrice
from cascadeflow.budget.policy import BudgetPolicy, blocked_error, judge
from cascadeflow.budget.records import BucketState, LedgerRecord, ReserveOutcome, Settlement
from cascadeflow.budget.reservation import Reservation
from cascadeflow.budget.stores import LedgerStore, open_store
from cascadeflow.budget.stores.guarded import GuardedStore
from cascadeflow.budget.tracker_reads import LedgerReads
from cascadeflow.budget.windows import resolve_timezone
from cascadeflow.errors import ConfigError

logger = logging.getLogger("cascadeflow.budget")
T = TypeVar("T")

DEFAULT_RESERVATION_TTL_S = 600.0
DEFAULT_HOLD_WAIT_S = 10.0
HOLD_POLL_FIRST_S = 0.005
HOLD_POLL_MAX_S = 0.1


@dataclass
class TrackerStats:
    """What this tracker object decided (per process; spending itself lives in the shared store)."""

    allowed: int = 0
    warned: int = 0
    degraded: int = 0
    blocked: int = 0
    committed: int = 0
    released: int = 0
    overruns: int = 0


class CostTracker(LedgerReads):
    """Budgets per user (and tracker-wide), enforcement callbacks, and a ledger any number of processes share.

    ``enforcement_mode``: ``off`` (record only), ``observe`` (decide and log, apply nothing), ``warn`` (the
    default: thresholds only warn, a callback's ``block`` still blocks), ``enforce`` (thresholds degrade and
    block, and the store refuses atomically past ``block_at`` × budget). ``store``: a URL (``memory://``,
    ``sqlite:///path``, ``redis://…``, ``postgresql://…``) or a :class:`LedgerStore`.
    """

    def __init__(
        self,
        budget_limit: MoneyLike | BudgetConfig | None = None,
        user_budgets: Mapping[str, BudgetConfig] | None = None,
        enforcement_mode: EnforcementMode = "warn",
        enforcement_callbacks: EnforcementCallbacks | None = None,
        degrade_at: float = 0.9,
        block_at: float = 1.0,
        *,
        default_budget: BudgetConfig | None = None,
        store: str | LedgerStore | None = None,
        timezone: str | tzinfo | None = None,
        alert_threshold: float | None = None,
        reservation_ttl: float = DEFAULT_RESERVATION_TTL_S,
        hold_wait: float = DEFAULT_HOLD_WAIT_S,
        min_output_tokens: int = 1,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        validate_settings(
            enforcement_mode, degrade_at, block_at, alert_threshold, reservation_ttl, hold_wait, min_output_tokens
        )
        self._policy = BudgetPolicy(
            user_budgets=dict(user_budgets or {}),
            default_budget=default_budget,
            global_budget=global_budget(budget_limit),
            mode=enforcement_mode,
            degrade_at=degrade_at,
            block_at=block_at,
            tz=resolve_timezone(timezone),
        )
        self._store: LedgerStore = GuardedStore(open_store(store))  # driver failures → StoreUnavailableError
        self._callbacks = enforcement_callbacks or EnforcementCallbacks()
        self._alerts = AlertWatch(alert_threshold, self._callbacks.on_alert)
        self._ttl = reservation_ttl
        self._hold_wait = hold_wait
        self._min_output_tokens = min_output_tokens
        self._clock = clock or (lambda: datetime.now(UTC))
        self._monotonic = monotonic
        self._sleep = sleep
        self._async_sleep = async_sleep
        self.stats = TrackerStats()

    @property
    def user_budgets(self) -> Mapping[str, BudgetConfig]:
        return self._policy.user_budgets

    @property
    def enforcement_mode(self) -> EnforcementMode:
        return self._policy.mode

    # ----------------------------------------------------------------------------------------- admission

    def can_afford(
        self,
        user_id: str | None,
        estimated_cost: MoneyLike,
        *,
        model: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> tuple[bool, str, Action | None]:
        """``(ok, reason, action)`` for a call of this cost now; ``action`` is None when no budget or callback
        applies. A question only: it holds nothing, so admit calls with :meth:`reserve`, never with this."""
        est = cost_arg(estimated_cost, "estimated_cost")
        pending = self._pending(user_id, model, est, est, metadata, None)
        decision = self._judge(pending, self._io_usage(pending), self._verdict)
        blocked = decision.applied and decision.action == "block"
        action = None if decision.decided_by != "callback" and not pending.limits else decision.action
        return not blocked, decision.reason, action

    def reserve(
        self,
        user_id: str | None,
        estimated_cost: MoneyLike,
        *,
        at_least: MoneyLike | None = None,
        model: str = "",
        metadata: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> Reservation:
        """Hold ``estimated_cost`` (or, when given, as little as ``at_least`` if that is all that is left)."""
        want = cost_arg(estimated_cost, "estimated_cost")
        least = want if at_least is None else min(want, cost_arg(at_least, "at_least"))
        pending = self._pending(user_id, model, want, least, metadata, request_id)
        decision = self._admit(self._judge(pending, self._io_usage(pending), self._verdict))
        deadline = self._monotonic() + self._hold_wait
        delay = HOLD_POLL_FIRST_S
        while True:
            outcome = self._store.reserve(pending.request)
            held = self._outcome(pending, decision, outcome, waited_out=self._monotonic() >= deadline)
            if held is not None:
                return held
            self._sleep(delay)
            delay = min(delay * 2, HOLD_POLL_MAX_S)

    async def areserve(
        self,
        user_id: str | None,
        estimated_cost: MoneyLike,
        *,
        at_least: MoneyLike | None = None,
        model: str = "",
        metadata: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> Reservation:
        """:meth:`reserve` for async code: store calls run in a worker thread, waits on the event loop."""
        want = cost_arg(estimated_cost, "estimated_cost")
        least = want if at_least is None else min(want, cost_arg(at_least, "at_least"))
        pending = self._pending(user_id, model, want, least, metadata, request_id)
        states = await self._run(self._io_usage, pending)
        decision = self._admit(await self._ajudge(pending, states))
        deadline = self._monotonic() + self._hold_wait
        delay = HOLD_POLL_FIRST_S
        while True:
            outcome = await self._run(self._store.reserve, pending.request)
            held = self._outcome(pending, decision, outcome, waited_out=self._monotonic() >= deadline)
            if held is not None:
                return held
            await self._async_sleep(delay)
            delay = min(delay * 2, HOLD_POLL_MAX_S)

    def reserve_call(
        self,
        user_id: str | None,
        *,
        model: str,
        price: TokenPrice,
        prompt_tokens: int,
        max_tokens: int | None,
        default_max_tokens: int,
        metadata: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> Reservation:
        """Hold one model call's worst case; when the budget cannot pay it all, hold what is left and shrink
        ``max_tokens`` to what that pays for (refused only if the prompt plus a minimal answer do not fit)."""
        want, least = call_bounds(price, prompt_tokens, max_tokens, default_max_tokens, self._min_output_tokens)
        held = self.reserve(user_id, want, at_least=least, model=model, metadata=metadata, request_id=request_id)
        return fit_call(held, price, prompt_tokens, max_tokens, default_max_tokens, self._min_output_tokens)

    async def areserve_call(
        self,
        user_id: str | None,
        *,
        model: str,
        price: TokenPrice,
        prompt_tokens: int,
        max_tokens: int | None,
        default_max_tokens: int,
        metadata: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> Reservation:
        want, least = call_bounds(price, prompt_tokens, max_tokens, default_max_tokens, self._min_output_tokens)
        held = await self.areserve(
            user_id, want, at_least=least, model=model, metadata=metadata, request_id=request_id
        )
        return fit_call(held, price, prompt_tokens, max_tokens, default_max_tokens, self._min_output_tokens)

    # ------------------------------------------------------------------------------------------ settling

    def commit(
        self,
        reservation: Reservation,
        cost: MoneyLike,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        model: str | None = None,
    ) -> LedgerRecord:
        """Settle at the provider's reported cost (not the estimate). Idempotent per reservation."""
        settlement = settlement_for(
            reservation, cost, input_tokens=input_tokens, output_tokens=output_tokens, model=model, now=self._clock()
        )
        self._settled(reservation, settlement, self._store.commit(settlement))
        if self._alerts.enabled and reservation.limits:
            self._alerts.observe(reservation.user_id, reservation.limits, self._store.usage(alert_checks(reservation)))
        return settlement.record

    async def acommit(
        self,
        reservation: Reservation,
        cost: MoneyLike,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        model: str | None = None,
    ) -> LedgerRecord:
        settlement = settlement_for(
            reservation, cost, input_tokens=input_tokens, output_tokens=output_tokens, model=model, now=self._clock()
        )
        self._settled(reservation, settlement, await self._run(self._store.commit, settlement))
        if self._alerts.enabled and reservation.limits:
            states = await self._run(self._store.usage, alert_checks(reservation))
            self._alerts.observe(reservation.user_id, reservation.limits, states)
        return settlement.record

    def release(self, reservation: Reservation) -> None:
        """Give the held money back: the call failed before costing anything."""
        self._store.release(reservation.reservation_id, reservation.held)
        self.stats.released += 1

    async def arelease(self, reservation: Reservation) -> None:
        await self._run(self._store.release, reservation.reservation_id, reservation.held)
        self.stats.released += 1

    # ---------------------------------------------------------------------------------------- internals

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._store.blocking:
            return await asyncio.to_thread(fn, *args)
        return fn(*args)

    def _pending(
        self,
        user_id: str | None,
        model: str,
        want: Decimal,
        at_least: Decimal,
        metadata: Mapping[str, Any] | None,
        request_id: str | None,
    ) -> PendingCall:
        return pending_call(
            self._policy, user_id=user_id, model=model, want=want, at_least=at_least, now=self._clock(),
            ttl=self._ttl, read_total=self._callbacks.on_budget_check is not None, metadata=metadata,
            request_id=request_id,
        )

    def _io_usage(self, pending: PendingCall) -> list[BucketState]:
        return self._store.usage(pending.snapshot) if pending.snapshot else []

    def _verdict(self, ctx: EnforcementContext) -> tuple[Action, str] | None:
        callback = self._callbacks.on_budget_check
        if callback is None:
            return None
        result = callback(ctx)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise ConfigError("on_budget_check", "is async: use areserve()/areserve_call() from async code")
        return parse_callback_result(result)

    def _judge(
        self,
        pending: PendingCall,
        states: list[BucketState],
        verdict: Callable[[EnforcementContext], tuple[Action, str] | None],
    ) -> Decision:
        ctx = call_context(pending, states)
        if self._policy.mode == "off":
            return Decision("allow", "enforcement off", ctx, "none", applied=False)
        return judge(self._policy, ctx, verdict(ctx))

    async def _ajudge(self, pending: PendingCall, states: list[BucketState]) -> Decision:
        callback = self._callbacks.on_budget_check
        if self._policy.mode == "off" or callback is None:
            return self._judge(pending, states, lambda _ctx: None)
        ctx = call_context(pending, states)
        result = callback(ctx)
        if inspect.isawaitable(result):
            result = await result
        return judge(self._policy, ctx, parse_callback_result(result))

    def _admit(self, decision: Decision) -> Decision:
        """Raise for an applied block before anything is held; otherwise pass the decision on."""
        if decision.applied and decision.action == "block":
            self.stats.blocked += 1
            raise blocked_error(decision.context, decision.reason)
        return decision

    def _outcome(
        self, pending: PendingCall, decision: Decision, outcome: ReserveOutcome, *, waited_out: bool
    ) -> Reservation | None:
        """The reservation, ``None`` to wait for in-flight holds, or BudgetExceededError."""
        if not outcome.granted:
            error = refusal(pending, outcome, waited_out=waited_out)
            if error is None:
                return None
            self.stats.blocked += 1
            raise error
        if decision.action == "warn" or (not decision.applied and decision.action in ("block", "degrade")):
            self.stats.warned += 1
            logger.warning("budget: %s", decision.reason)
        elif decision.action == "degrade":
            self.stats.degraded += 1
        else:
            self.stats.allowed += 1
        return reservation_for(pending, decision, outcome.granted_units)

    def _settled(self, reservation: Reservation, settlement: Settlement, fresh: bool) -> None:
        if not fresh:
            return
        self.stats.committed += 1
        if settlement.record.cost > reservation.amount:
            self.stats.overruns += 1
            logger.warning(
                "call %s cost %s USD, above the %s USD reserved: the estimate of its tokens was too low",
                reservation.request_id, fmt_usd(settlement.record.cost), fmt_usd(reservation.amount),
            )
