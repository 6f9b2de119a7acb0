"""Window limits through the ``limits`` library: in memory (per process) and in real Redis (shared)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from cascadeflow.errors import ConfigError, RateLimitExceededError
from cascadeflow.traffic import WindowLimit, WindowRateLimiter


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "memory":
        yield "memory://"
        return
    yield request.getfixturevalue("redis_url")


def test_requests_per_window_and_retry_after(storage: str) -> None:
    limiter = WindowRateLimiter(WindowLimit(requests=3, per="minute"), storage=storage, namespace=uuid.uuid4().hex)

    async def scenario() -> RateLimitExceededError:
        for _ in range(3):
            await limiter.hit("alice")
        await limiter.hit("bob")  # another key has its own window
        with pytest.raises(RateLimitExceededError) as caught:
            await limiter.hit("alice")
        return caught.value

    err = asyncio.run(scenario())
    assert 0 < err.retry_after <= 120 and err.key == "alice" and err.limit == "3 requests per 1 minute"


def test_tokens_and_usd_counted_as_integers(storage: str) -> None:
    limiter = WindowRateLimiter(
        WindowLimit(tokens=1000, usd="0.05", per="hour"), storage=storage, namespace=uuid.uuid4().hex
    )

    async def scenario() -> dict[str, int]:
        await limiter.hit("k", tokens=600, usd="0.0200001")
        assert not await limiter.allowed("k", tokens=600)
        with pytest.raises(RateLimitExceededError, match="1000 tokens"):
            await limiter.hit("k", tokens=600)
        with pytest.raises(RateLimitExceededError, match=r"0\.05 USD"):
            await limiter.hit("k", tokens=1, usd="0.03")  # 20,001 + 30,000 micro-dollars > 50,000
        return await limiter.remaining("k")

    left = asyncio.run(scenario())
    assert left == {"1000 tokens per 1 hour": 400, "0.05 USD per 1 hour": 29_999}  # refusals charged nothing


def test_replicas_share_a_limit_only_through_redis(redis_url: str) -> None:
    namespace = uuid.uuid4().hex

    async def admitted(storage: str) -> int:
        replicas = [
            WindowRateLimiter(WindowLimit(requests=10, per="minute"), storage=storage, namespace=namespace)
            for _ in range(2)
        ]
        ok = 0
        for i in range(20):
            try:
                await replicas[i % 2].hit("tenant")
                ok += 1
            except RateLimitExceededError:
                pass
        return ok

    assert asyncio.run(admitted("memory://")) == 20  # each replica counts alone: the limit is doubled
    assert asyncio.run(admitted(redis_url)) == 10


def test_bad_limits_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        WindowLimit()
    with pytest.raises(ConfigError):
        WindowLimit(requests=0)
    with pytest.raises(ConfigError, match="storage"):
        WindowRateLimiter(WindowLimit(requests=1), storage="memcached://x")
