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
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any, TypeVar

from cascadeflow.budget.alerts import AlertWatch
from cascadeflow.budget.config import BudgetConfig
from cascadeflow.budget.enforcement import (
    MODES,
    Action,
    Decision,
    EnforcementCallbacks,
    EnforcementContext,
    EnforcementMode,
    parse_callback_result,
)
from cascadeflow.budget.money import MoneyLike, fmt_usd, to_decimal, units_up, usd
from cascadeflow.budget.planner import CallPlan, TokenPrice, plan_call
from cascadeflow.budget.policy import (
    BudgetPolicy,
    Limit,
    blocked_error,
    checks_for,
    context_for,
    credits_for,
    judge,
    limits_for,
    refusal_error,
)
from cascadeflow.budget.records import (
    BucketCheck,
    BucketRef,
    BucketState,
    LedgerRecord,
    ReserveOutcome,
    ReserveRequest,
    Settlement,
    user_account,
)
from cascadeflow.budget.reservation import Reservation
from cascadeflow.budget.stores import LedgerStore, open_store
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


@dataclass(frozen=True, slots=True)
class _Pending:
    """One reservation being admitted: its limits, its store request, where its cost will be credited."""

    user_id: str | None
    model: str
    request_id: str
    want: Decimal
    at_least: Decimal
    limits: tuple[Limit, ...]
    request: ReserveRequest
    credits: tuple[BucketRef, ...]
    snapshot: tuple[BucketCheck, ...]
    metadata: Mapping[str, Any]


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
        _validate(
            enforcement_mode, degrade_at, block_at, alert_threshold, reservation_ttl, hold_wait, min_output_tokens
        )
        self._policy = BudgetPolicy(
            user_budgets=dict(user_budgets or {}),
            default_budget=default_budget,
            global_budget=_global_budget(budget_limit),
            mode=enforcement_mode,
            degrade_at=degrade_at,
            block_at=block_at,
            tz=resolve_timezone(timezone),
        )
        self._store = open_store(store)
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
        est = _cost(estimated_cost, "estimated_cost")
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
        want = _cost(estimated_cost, "estimated_cost")
        least = want if at_least is None else min(want, _cost(at_least, "at_least"))
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
        want = _cost(estimated_cost, "estimated_cost")
        least = want if at_least is None else min(want, _cost(at_least, "at_least"))
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
        full, least = self._call_bounds(price, prompt_tokens, max_tokens, default_max_tokens)
        held = self.reserve(
            user_id, full.reserve, at_least=least, model=model, metadata=metadata, request_id=request_id
        )
        return self._fit_call(held, price, prompt_tokens, max_tokens, default_max_tokens)

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
        full, least = self._call_bounds(price, prompt_tokens, max_tokens, default_max_tokens)
        held = await self.areserve(
            user_id, full.reserve, at_least=least, model=model, metadata=metadata, request_id=request_id
        )
        return self._fit_call(held, price, prompt_tokens, max_tokens, default_max_tokens)

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
        settlement = self._settlement(reservation, cost, input_tokens, output_tokens, model)
        self._settled(reservation, settlement, self._store.commit(settlement))
        if self._alerts.enabled and reservation.limits:
            self._alerts.observe(reservation.user_id, reservation.limits, self._store.usage(_checks(reservation)))
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
        settlement = self._settlement(reservation, cost, input_tokens, output_tokens, model)
        self._settled(reservation, settlement, await self._run(self._store.commit, settlement))
        if self._alerts.enabled and reservation.limits:
            states = await self._run(self._store.usage, _checks(reservation))
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
    ) -> _Pending:
        now = self._clock()
        limits = limits_for(self._policy, user_id, now) if self._policy.mode != "off" else ()
        checks = checks_for(self._policy, limits)
        rid = uuid.uuid4().hex
        request = ReserveRequest(
            rid, checks, units_up(want), units_up(at_least), self._ttl, enforce=self._policy.mode == "enforce"
        )
        snapshot: tuple[BucketCheck, ...] = checks
        if not limits and self._callbacks.on_budget_check is not None and self._policy.mode != "off":
            snapshot = (BucketCheck(BucketRef(user_account(user_id), "total"), None),)
        return _Pending(
            user_id, model, request_id or rid, want, at_least, limits, request,
            credits_for(self._policy, user_id, now), snapshot, metadata or {},
        )

    def _io_usage(self, pending: _Pending) -> list[BucketState]:
        return self._store.usage(pending.snapshot) if pending.snapshot else []

    def _context(self, pending: _Pending, states: list[BucketState]) -> EnforcementContext:
        estimate = (pending.want, pending.at_least)
        return context_for(pending.user_id, pending.model, estimate, pending.limits, states, pending.metadata)

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
        pending: _Pending,
        states: list[BucketState],
        verdict: Callable[[EnforcementContext], tuple[Action, str] | None],
    ) -> Decision:
        ctx = self._context(pending, states)
        if self._policy.mode == "off":
            return Decision("allow", "enforcement off", ctx, "none", applied=False)
        return judge(self._policy, ctx, verdict(ctx))

    async def _ajudge(self, pending: _Pending, states: list[BucketState]) -> Decision:
        ctx = self._context(pending, states)
        callback = self._callbacks.on_budget_check
        if self._policy.mode == "off" or callback is None:
            return self._judge(pending, states, lambda _ctx: None)
        result = callback(ctx)
        if inspect.isawaitable(result):
            result = await result
        return judge(self._policy, ctx, parse_callback_result(result))

    def _outcome(
        self, pending: _Pending, decision: Decision, outcome: ReserveOutcome, *, waited_out: bool
    ) -> Reservation | None:
        """The reservation, ``None`` to wait for in-flight holds, or BudgetExceededError."""
        if not outcome.granted:
            state = outcome.blocking
            assert state is not None
            limit = next(lim for lim in pending.limits if lim.bucket == state.bucket)
            committed_only = (state.limit_units or 0) - state.committed_units
            if committed_only >= pending.request.at_least_units and not waited_out:
                return None
            self.stats.blocked += 1
            why = "in-flight calls hold the rest" if committed_only >= pending.request.at_least_units else (
                f"this call needs at least {fmt_usd(usd(pending.request.at_least_units))} USD"
            )
            raise refusal_error(pending.user_id, limit, state, why)
        self._count(decision)
        return Reservation(
            pending.request.reservation_id, pending.request_id, pending.user_id, pending.model,
            usd(outcome.granted_units), pending.limits, pending.credits, decision,
        )

    def _admit(self, decision: Decision) -> Decision:
        """Raise for an applied block before anything is held; otherwise pass the decision on."""
        if decision.applied and decision.action == "block":
            self.stats.blocked += 1
            raise blocked_error(decision.context, decision.reason)
        return decision

    def _count(self, decision: Decision) -> None:
        if decision.action == "warn" or (not decision.applied and decision.action in ("block", "degrade")):
            self.stats.warned += 1
            logger.warning("budget: %s", decision.reason)
        elif decision.action == "degrade":
            self.stats.degraded += 1
        else:
            self.stats.allowed += 1

    def _call_bounds(
        self, price: TokenPrice, prompt_tokens: int, max_tokens: int | None, default_max_tokens: int
    ) -> tuple[CallPlan, Decimal]:
        full = plan_call(None, price, prompt_tokens, max_tokens, default_max_tokens=default_max_tokens)
        assert isinstance(full, CallPlan)  # no limit: always a plan
        least = price.cost(prompt_tokens, min(self._min_output_tokens, full.max_tokens))
        return full, least

    def _fit_call(
        self, held: Reservation, price: TokenPrice, prompt_tokens: int, max_tokens: int | None, default: int
    ) -> Reservation:
        plan = plan_call(
            held.amount, price, prompt_tokens, max_tokens,
            default_max_tokens=default, min_output_tokens=self._min_output_tokens,
        )
        if not isinstance(plan, CallPlan):  # pragma: no cover - the store granted at least the minimum
            raise AssertionError(plan.reason)
        return replace(held, max_tokens=plan.max_tokens, shrunk=plan.shrunk)

    def _settlement(
        self, reservation: Reservation, cost: MoneyLike, input_tokens: int, output_tokens: int, model: str | None
    ) -> Settlement:
        amount = _cost(cost, "cost")
        if input_tokens < 0 or output_tokens < 0:
            raise ConfigError("tokens", "input_tokens and output_tokens must be >= 0")
        record = LedgerRecord.from_units(
            time=self._clock(), user_id=reservation.user_id or "", model=model or reservation.model,
            input_tokens=input_tokens, output_tokens=output_tokens, cost_units=units_up(amount),
            request_id=reservation.request_id, reservation_id=reservation.reservation_id,
        )
        return Settlement(reservation.reservation_id, reservation.held, reservation.credits, record)

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


def _checks(reservation: Reservation) -> tuple[BucketCheck, ...]:
    return tuple(BucketCheck(limit.bucket, None) for limit in reservation.limits)


def _cost(value: MoneyLike, field: str) -> Decimal:
    amount = to_decimal(value, field)
    if amount < 0:
        raise ConfigError(field, f"must be >= 0 USD, got {value!r}")
    return amount


def _global_budget(value: MoneyLike | BudgetConfig | None) -> BudgetConfig | None:
    if value is None or isinstance(value, BudgetConfig):
        return value
    return BudgetConfig(total=value)


def _validate(
    mode: str, degrade_at: float, block_at: float, alert: float | None, ttl: float, hold_wait: float, min_out: int
) -> None:
    if mode not in MODES:
        raise ConfigError("enforcement_mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
    if not 0 < degrade_at <= block_at:
        raise ConfigError("degrade_at", f"must be > 0 and <= block_at ({block_at}), got {degrade_at!r}")
    if alert is not None and not 0 < alert <= 1:
        raise ConfigError("alert_threshold", f"must be in (0, 1], got {alert!r}")
    if ttl <= 0:
        raise ConfigError("reservation_ttl", f"must be > 0 seconds, got {ttl!r}")
    if hold_wait < 0:
        raise ConfigError("hold_wait", f"must be >= 0 seconds, got {hold_wait!r}")
    if min_out < 1:
        raise ConfigError("min_output_tokens", f"must be >= 1, got {min_out!r}")
