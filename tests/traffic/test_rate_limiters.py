"""Token bucket, per-user and adaptive rate limiters, on an injected clock: no test ever waits."""

from __future__ import annotations

import asyncio

import pytest

from cascadeflow.errors import ConfigError, RateLimitError, RateLimitExceededError
from cascadeflow.traffic import AdaptiveRateLimiter, MultiUserRateLimiter, RateLimiter


class FakeTime:
    """A clock plus an async sleep that advances it: waits happen instantly and are recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    t = FakeTime()
    limiter = RateLimiter(rate=60, per=60.0, clock=t.clock, sleep=t.sleep)  # 1 per second, bursts of 60

    async def scenario() -> list[bool]:
        return [await limiter.acquire() for _ in range(61)]

    results = asyncio.run(scenario())
    assert results.count(True) == 60 and results[-1] is False
    assert limiter.retry_after() == pytest.approx(1.0)
    t.now += 2.5
    assert limiter.allowance == pytest.approx(2.5)


def test_wait_if_needed_sleeps_exactly_the_refill_time() -> None:
    t = FakeTime()
    limiter = RateLimiter(rate=2, per=1.0, clock=t.clock, sleep=t.sleep)

    async def scenario() -> None:
        for _ in range(4):
            await limiter.wait_if_needed()

    asyncio.run(scenario())
    assert t.slept == [pytest.approx(0.5), pytest.approx(0.5)]


def test_check_and_max_wait_raise_with_retry_after() -> None:
    t = FakeTime()
    limiter = RateLimiter(rate=1, per=10.0, key="alice", clock=t.clock, sleep=t.sleep)
    limiter.check()
    with pytest.raises(RateLimitExceededError) as caught:
        limiter.check()
    assert caught.value.retry_after == pytest.approx(10.0) and caught.value.key == "alice"
    with pytest.raises(RateLimitExceededError):
        asyncio.run(limiter.wait_if_needed(max_wait=5.0))
    with pytest.raises(RateLimitExceededError):
        asyncio.run(limiter.wait_if_needed(cost=2))  # more than the bucket can ever hold
    assert t.slept == []


def test_bad_rates_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        RateLimiter(rate=0)
    with pytest.raises(ConfigError):
        AdaptiveRateLimiter(base_rate=10, min_rate=20, max_rate=30)


def test_per_user_buckets_and_stats() -> None:
    t = FakeTime()
    limiter = MultiUserRateLimiter(rate=100, per=3600, clock=t.clock, sleep=t.sleep, max_keys=2)

    async def scenario() -> None:
        for _ in range(100):
            assert await limiter.acquire("alice")
        assert not await limiter.acquire("alice")
        assert await limiter.acquire("bob")

    asyncio.run(scenario())
    stats = limiter.get_stats("alice")
    assert stats["rate"] == 100 and stats["allowance"] == pytest.approx(0) and stats["utilization"] == pytest.approx(1)
    with pytest.raises(RateLimitExceededError):
        limiter.check("alice")
    limiter.limiter("carol")
    limiter.limiter("dave")  # bounded: the least recently seen user (alice) was dropped
    assert limiter.get_stats("alice")["utilization"] == 0


def test_adaptive_lowers_above_ten_percent_errors_and_raises_below_one_percent() -> None:
    limiter = AdaptiveRateLimiter(base_rate=100, min_rate=50, max_rate=130)
    for i in range(100):
        limiter.observe(RuntimeError("boom") if i < 15 else None)
    assert limiter.current_rate == pytest.approx(80)
    for _ in range(100):
        limiter.record_success()
    assert limiter.current_rate == pytest.approx(96)
    for _ in range(300):
        limiter.record_success()
    assert limiter.current_rate == pytest.approx(130)  # capped at max_rate
    for _ in range(10):
        for i in range(100):
            limiter.observe(RuntimeError() if i < 50 else None)
    assert limiter.current_rate == pytest.approx(50)  # floored at min_rate


def test_adaptive_backs_off_on_429_and_honours_retry_after() -> None:
    t = FakeTime()
    limiter = AdaptiveRateLimiter(base_rate=100, min_rate=10, max_rate=200, clock=t.clock, sleep=t.sleep)
    limiter.observe(RateLimitError("slow down", retry_after=3.0, status_code=429))
    assert limiter.current_rate == pytest.approx(80)  # at once, not after 100 samples
    assert asyncio.run(limiter.acquire()) is False
    with pytest.raises(RateLimitExceededError) as caught:
        limiter.check()
    assert caught.value.retry_after == pytest.approx(3.0)
    asyncio.run(limiter.wait_if_needed())
    assert t.slept == [pytest.approx(3.0)]
    assert asyncio.run(limiter.acquire()) is True
