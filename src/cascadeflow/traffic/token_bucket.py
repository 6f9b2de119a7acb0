"""``RateLimiter``: a token bucket in this process (the production guide's API), clock and sleep injectable."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

from cascadeflow.errors import ConfigError, RateLimitExceededError


class RateLimiter:
    """``rate`` requests (or cost units) per ``per`` seconds, refilled continuously, bursts up to ``burst``.

    ``acquire`` answers now (True/False), ``wait_if_needed`` sleeps exactly as long as the bucket needs to
    refill (no polling), ``check`` raises :class:`RateLimitExceededError` with ``retry_after`` for enforce paths.
    """

    def __init__(
        self,
        rate: float,
        per: float = 60.0,
        *,
        burst: float | None = None,
        key: str = "",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or per <= 0:
            raise ConfigError("RateLimiter.rate", f"rate and per must be > 0, got rate={rate!r}, per={per!r}")
        if burst is not None and burst < 1:
            raise ConfigError("RateLimiter.burst", f"must be >= 1, got {burst!r}")
        self.rate = float(rate)
        self.per = float(per)
        self.key = key
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._allowance = self.capacity
        self._last = clock()

    @property
    def capacity(self) -> float:
        return float(self._burst) if self._burst is not None else self.rate

    @property
    def allowance(self) -> float:
        """Units available right now."""
        with self._lock:
            self._refill()
            return self._allowance

    def set_rate(self, rate: float) -> None:
        """Change the rate (the adaptive limiter does); the bucket keeps what it holds, capped to the new size."""
        if rate <= 0:
            raise ConfigError("RateLimiter.rate", f"must be > 0, got {rate!r}")
        with self._lock:
            self._refill()
            self.rate = float(rate)
            self._allowance = min(self._allowance, self.capacity)

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._allowance = min(self.capacity, self._allowance + elapsed * self.rate / self.per)

    def try_acquire(self, cost: float = 1.0) -> bool:
        """Take ``cost`` units if they are there; never waits."""
        with self._lock:
            self._refill()
            if self._allowance < cost:
                return False
            self._allowance -= cost
            return True

    async def acquire(self, cost: float = 1.0) -> bool:
        return self.try_acquire(cost)

    def retry_after(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` units will be available (0 if they are now); ``inf`` if more than the bucket holds."""
        if cost > self.capacity:
            return float("inf")
        with self._lock:
            self._refill()
            missing = cost - self._allowance
        return max(0.0, missing * self.per / self.rate)

    def check(self, cost: float = 1.0) -> None:
        """Take ``cost`` units or raise :class:`RateLimitExceededError` saying when to retry."""
        if not self.try_acquire(cost):
            wait = self.retry_after(cost)
            raise RateLimitExceededError(
                f"rate limit {self.rate:g}/{self.per:g}s reached{f' for {self.key}' if self.key else ''}; "
                f"retry after {wait:.2f}s",
                key=self.key, limit=f"{self.rate:g}/{self.per:g}s", retry_after=wait,
            )

    async def wait_if_needed(self, cost: float = 1.0, *, max_wait: float | None = None) -> None:
        """Wait until ``cost`` units are free, then take them; raise at once if that takes over ``max_wait`` s."""
        waited = 0.0
        while not self.try_acquire(cost):
            wait = self.retry_after(cost)
            if (max_wait is not None and waited + wait > max_wait) or wait == float("inf"):
                raise RateLimitExceededError(
                    f"rate limit {self.rate:g}/{self.per:g}s: {cost:g} unit(s) not free within max_wait",
                    key=self.key, limit=f"{self.rate:g}/{self.per:g}s", retry_after=wait,
                )
            await self._sleep(wait)
            waited += wait
