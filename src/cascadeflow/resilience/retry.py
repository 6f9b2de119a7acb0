"""Retry with exponential backoff and jitter, honouring the server's ``Retry-After``.

Built on tenacity's ``AsyncRetrying`` (already a core dependency) with our own wait/retry/stop callables, so the
policy stays a plain dataclass and ``sleep``/``rng``/``clock`` are injected: tests never really wait. Only
:class:`~cascadeflow.errors.RetriableProviderError` is retried; 401/403/400/404 and malformed answers are raised
at once, because sending the same request again cannot change their outcome. Given a ``deadline``, a retry is
made only when its backoff plus :attr:`RetryPolicy.min_attempt_s` still fits before it: no sleep that ends past
the deadline, no attempt that would be cut before it could answer.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from cascadeflow.errors import ConfigError, RateLimitError, RetriableProviderError

T = TypeVar("T")
SleepFn = Callable[[float], Awaitable[None]]
RandomFn = Callable[[], float]
ClockFn = Callable[[], float]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently one endpoint is retried before the cascade falls back to another tier."""

    max_retries: int = 2
    """Retries after the first attempt. Small on purpose: in a cascade the next tier is a ready fallback, so
    long retry chains only add latency (mirrors ``ModelConfig.max_retries``)."""
    base_delay: float = 0.5
    """First backoff in seconds: long enough for a 5xx blip or a dropped connection to clear."""
    max_delay: float = 8.0
    """Cap on one backoff sleep; beyond it, falling back to another tier beats waiting."""
    jitter: float = 0.25
    """Up to this fraction of random extra delay, so many clients do not retry in lockstep."""
    max_retry_after: float = 30.0
    """Longest server-requested wait (``Retry-After``) we honour. A longer one is not shortened (that would
    only earn another 429); the error is raised at once so the cascade can use another tier instead."""
    exponential_base: float = 2.0
    """Each backoff is this many times the last (before the cap): doubling spreads retries over the typical
    few seconds a 5xx blip or restart lasts."""
    min_attempt_s: float = 1.0
    """Under a deadline, a retry starts only if at least this long would remain after its backoff: less cannot
    carry a call to an LLM endpoint (connect plus a short answer), so falling over to the next tier at once
    beats starting an attempt that would be cut anyway."""

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ConfigError("RetryPolicy.max_retries", f"must be an integer >= 0, got {self.max_retries!r}")
        for name in ("base_delay", "max_delay", "jitter", "max_retry_after", "min_attempt_s", "exponential_base"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"RetryPolicy.{name}", f"must be a number >= 0, got {value!r}")

    retry_on: Callable[[BaseException], bool] | None = None
    """Which errors are transient, when not the default (a :class:`RetriableProviderError`): e.g.
    ``ErrorClassifier.is_retriable`` to retry whole runs whose every tier failed transiently."""

    def should_retry(self, exc: BaseException) -> bool:
        """Transient errors only, and never a rate limit that asks for a longer wait than we accept."""
        transient = isinstance(exc, RetriableProviderError) if self.retry_on is None else self.retry_on(exc)
        if not transient:
            return False
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            return exc.retry_after <= self.max_retry_after
        return True

    def fits(self, delay: float, deadline: float | None, now: float) -> bool:
        """True when a retry after ``delay`` seconds would still have ``min_attempt_s`` before ``deadline``."""
        return deadline is None or now + delay + self.min_attempt_s <= deadline

    def delay(self, attempt: int, exc: BaseException | None, *, rng: RandomFn = random.random) -> float:
        """Seconds to sleep after failed attempt number ``attempt`` (1-based): backoff, jitter, Retry-After."""
        backoff = min(self.max_delay, self.base_delay * self.exponential_base ** max(attempt - 1, 0))
        backoff += backoff * self.jitter * rng()
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            return max(backoff, exc.retry_after)
        return backoff


async def retry_call(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: SleepFn = asyncio.sleep,
    rng: RandomFn = random.random,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    deadline: float | None = None,
    clock: ClockFn = time.monotonic,
) -> T:
    """Await ``fn()`` until it succeeds, fails permanently, or ``policy.max_retries`` retries are used up.

    The last error is re-raised unchanged (never wrapped), so callers catch the same typed exceptions.
    ``on_retry(attempt, error, delay)`` is told about every retry, e.g. for logging or metrics. ``deadline``
    (a ``clock()`` instant) stops retrying as soon as the next retry could not finish before it.
    """

    # Fast path: the first attempt runs without tenacity's machinery (~70 µs per call), so a healthy endpoint
    # pays nothing for resilience; tenacity takes over only after a retriable failure.
    try:
        return await fn()
    except BaseException as exc:
        if policy.max_retries == 0 or not policy.should_retry(exc):
            raise
        first_delay = policy.delay(1, exc, rng=rng)
        if not policy.fits(first_delay, deadline, clock()):
            raise
        if on_retry is not None:
            on_retry(1, exc, first_delay)
    await sleep(first_delay)
    return await _retry_rest(fn, policy, sleep=sleep, rng=rng, on_retry=on_retry, deadline=deadline, clock=clock)


async def _retry_rest(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: SleepFn,
    rng: RandomFn,
    on_retry: Callable[[int, BaseException, float], None] | None,
    deadline: float | None,
    clock: ClockFn,
) -> T:
    """The retries after the first failure, under tenacity (imported only now: a healthy process never pays for
    it, ~7 ms at import)."""
    from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
    from tenacity.stop import stop_base

    class PastDeadline(stop_base):
        """Stop when the next sleep plus ``min_attempt_s`` would not fit before the deadline (tenacity computes
        the wait before asking whether to stop, so ``upcoming_sleep`` is the real next delay)."""

        def __call__(self, retry_state: RetryCallState) -> bool:
            return not policy.fits(retry_state.upcoming_sleep, deadline, clock())

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        return policy.delay(state.attempt_number + 1, exc, rng=rng)

    async def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None and state.next_action is not None:
            error = state.outcome.exception()
            if error is not None:
                on_retry(state.attempt_number + 1, error, state.next_action.sleep)

    retrying = AsyncRetrying(
        sleep=sleep,
        stop=stop_after_attempt(policy.max_retries) | PastDeadline(),
        wait=wait,
        retry=retry_if_exception(policy.should_retry),
        before_sleep=before_sleep,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await fn()
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
