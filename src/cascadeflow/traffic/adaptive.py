"""``AdaptiveRateLimiter``: slow down when the provider struggles, speed up when it is healthy.

Above ``high_error_rate`` failures the rate drops ×``decrease``; below ``low_error_rate`` it grows ×``increase``;
always within [``min_rate``, ``max_rate``]. A 429 backs off at once (no need to wait for a full sample) and,
when the provider said how long, pauses new calls for its ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

from cascadeflow.errors import ConfigError, RateLimitError, RateLimitExceededError
from cascadeflow.traffic.token_bucket import RateLimiter


class AdaptiveRateLimiter:
    def __init__(
        self,
        base_rate: float,
        min_rate: float,
        max_rate: float,
        per: float = 60.0,
        *,
        min_samples: int = 100,
        high_error_rate: float = 0.10,
        low_error_rate: float = 0.01,
        decrease: float = 0.8,
        increase: float = 1.2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 0 < min_rate <= base_rate <= max_rate:
            raise ConfigError("AdaptiveRateLimiter", "need 0 < min_rate <= base_rate <= max_rate")
        if not 0 < decrease < 1 < increase or not 0 <= low_error_rate < high_error_rate <= 1 or min_samples < 1:
            raise ConfigError("AdaptiveRateLimiter", "need 0 < decrease < 1 < increase and low < high error rates")
        self.base_rate, self.min_rate, self.max_rate = base_rate, min_rate, max_rate
        self.min_samples = min_samples
        self._high, self._low = high_error_rate, low_error_rate
        self._decrease, self._increase = decrease, increase
        self._clock = clock
        self._sleep = sleep
        self._bucket = RateLimiter(base_rate, per, clock=clock, sleep=sleep)
        self._lock = threading.Lock()
        self.success_count = 0
        self.error_count = 0
        self._paused_until = 0.0

    @property
    def current_rate(self) -> float:
        return self._bucket.rate

    def record_success(self) -> None:
        with self._lock:
            self.success_count += 1
        self.adjust_rate()

    def record_error(self) -> None:
        with self._lock:
            self.error_count += 1
        self.adjust_rate()

    def record_rate_limited(self, retry_after: float | None = None) -> None:
        """The provider answered 429: back off now, and pause for its Retry-After if it gave one."""
        with self._lock:
            self.error_count += 1
            if retry_after:
                self._paused_until = max(self._paused_until, self._clock() + retry_after)
        self._set(self.current_rate * self._decrease)

    def observe(self, error: BaseException | None) -> None:
        """Feed one call's outcome: ``None`` (success), a provider 429, or any other failure."""
        if error is None:
            self.record_success()
        elif isinstance(error, RateLimitError):
            self.record_rate_limited(error.retry_after)
        else:
            self.record_error()

    def adjust_rate(self) -> None:
        """Once ``min_samples`` outcomes are in: move the rate by the error share, then start a new sample."""
        with self._lock:
            total = self.success_count + self.error_count
            if total < self.min_samples:
                return
            share = self.error_count / total
            self.success_count = self.error_count = 0
        if share > self._high:
            self._set(self.current_rate * self._decrease)
        elif share < self._low:
            self._set(self.current_rate * self._increase)

    def _set(self, rate: float) -> None:
        self._bucket.set_rate(min(self.max_rate, max(self.min_rate, rate)))

    def _pause_left(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    async def acquire(self, cost: float = 1.0) -> bool:
        return self._pause_left() == 0 and self._bucket.try_acquire(cost)

    def check(self, cost: float = 1.0) -> None:
        pause = self._pause_left()
        if pause > 0:
            raise RateLimitExceededError(
                f"provider asked to retry after {pause:.2f}s", limit="provider Retry-After", retry_after=pause
            )
        self._bucket.check(cost)

    async def wait_if_needed(self, cost: float = 1.0, *, max_wait: float | None = None) -> None:
        pause = self._pause_left()
        if max_wait is not None and pause > max_wait:
            self.check(cost)  # raises with the provider's retry-after
        if pause > 0:
            await self._sleep(pause)
        left = None if max_wait is None else max(0.0, max_wait - pause)
        await self._bucket.wait_if_needed(cost, max_wait=left)
