"""``MultiUserRateLimiter``: one token bucket per user or API key, in this process."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from cascadeflow.traffic.token_bucket import RateLimiter

DEFAULT_MAX_KEYS = 100_000


class MultiUserRateLimiter:
    """``rate`` per ``per`` seconds for each user independently.

    Buckets of the least recently seen users are dropped past ``max_keys`` (a dropped user comes back with a
    full bucket, as an idle one would have had). For limits shared by many processes use
    :class:`~cascadeflow.traffic.window_limiter.WindowRateLimiter` with Redis.
    """

    def __init__(
        self,
        rate: float,
        per: float = 60.0,
        *,
        burst: float | None = None,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        RateLimiter(rate, per, burst=burst)  # validates the arguments once
        self.rate = rate
        self.per = per
        self._burst = burst
        self._max_keys = max_keys
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._limiters: OrderedDict[str, RateLimiter] = OrderedDict()

    def limiter(self, user_id: str) -> RateLimiter:
        with self._lock:
            found = self._limiters.get(user_id)
            if found is None:
                found = RateLimiter(self.rate, self.per, burst=self._burst, key=user_id, clock=self._clock,
                                    sleep=self._sleep)
                self._limiters[user_id] = found
                while len(self._limiters) > self._max_keys:
                    self._limiters.popitem(last=False)
            else:
                self._limiters.move_to_end(user_id)
            return found

    async def acquire(self, user_id: str, cost: float = 1.0) -> bool:
        return self.limiter(user_id).try_acquire(cost)

    def check(self, user_id: str, cost: float = 1.0) -> None:
        self.limiter(user_id).check(cost)

    async def wait_if_needed(self, user_id: str, cost: float = 1.0, *, max_wait: float | None = None) -> None:
        await self.limiter(user_id).wait_if_needed(cost, max_wait=max_wait)

    def get_stats(self, user_id: str) -> dict[str, Any]:
        """The user's allowance now, the rate, and how much of the bucket is used (0..1)."""
        limiter = self.limiter(user_id)
        allowance = limiter.allowance
        return {
            "allowance": allowance,
            "rate": limiter.rate,
            "utilization": 1 - allowance / limiter.capacity,
        }
