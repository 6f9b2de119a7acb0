"""RetryPolicy and retry_call: backoff, jitter, Retry-After, and no retries for permanent errors."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from cascadeflow.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ProviderUnavailableError,
    RateLimitError,
)
from cascadeflow.providers.http_errors import parse_retry_after
from cascadeflow.resilience.retry import RetryPolicy, retry_call


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class Flaky:
    """Raises the given errors in order, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, jitter=0.0)
    assert [policy.delay(n, None) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_adds_at_most_its_fraction() -> None:
    policy = RetryPolicy(base_delay=1.0, jitter=0.25)
    assert policy.delay(1, None, rng=lambda: 0.0) == 1.0
    assert policy.delay(1, None, rng=lambda: 0.999) == pytest.approx(1.25, abs=1e-3)


def test_retry_after_sets_the_minimum_delay() -> None:
    policy = RetryPolicy(base_delay=0.5, jitter=0.0)
    assert policy.delay(1, RateLimitError("slow", retry_after=7.0)) == 7.0
    assert policy.delay(1, RateLimitError("slow")) == 0.5


def test_should_retry_only_transient_errors() -> None:
    policy = RetryPolicy(max_retry_after=30.0)
    assert policy.should_retry(ProviderUnavailableError("503"))
    assert policy.should_retry(RateLimitError("429", retry_after=29.0))
    assert not policy.should_retry(RateLimitError("429", retry_after=3600.0))
    assert not policy.should_retry(AuthenticationError("401"))
    assert not policy.should_retry(ValueError("bug"))


@pytest.mark.parametrize("field", ["max_retries", "base_delay", "jitter"])
def test_policy_rejects_negative_values(field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        RetryPolicy(**{field: -1})  # type: ignore[arg-type]


async def test_retries_transient_errors_then_succeeds() -> None:
    fn = Flaky(ProviderUnavailableError("503"), RateLimitError("429", retry_after=4.0))
    sleep = FakeSleep()
    seen: list[tuple[int, str, float]] = []
    result = await retry_call(fn, RetryPolicy(max_retries=2, base_delay=0.5, jitter=0.0), sleep=sleep,
                              on_retry=lambda n, e, d: seen.append((n, type(e).__name__, d)))
    assert result == "ok" and fn.calls == 3
    assert sleep.calls == [0.5, 4.0]
    assert seen == [(1, "ProviderUnavailableError", 0.5), (2, "RateLimitError", 4.0)]


async def test_permanent_error_is_raised_at_once() -> None:
    fn = Flaky(BadRequestError("no such model"))
    sleep = FakeSleep()
    with pytest.raises(BadRequestError):
        await retry_call(fn, RetryPolicy(max_retries=5), sleep=sleep)
    assert fn.calls == 1 and sleep.calls == []


async def test_last_error_is_reraised_unwrapped_when_retries_run_out() -> None:
    last = ProviderUnavailableError("still down")
    fn = Flaky(ProviderUnavailableError("down"), ProviderUnavailableError("down"), last)
    sleep = FakeSleep()
    with pytest.raises(ProviderUnavailableError) as info:
        await retry_call(fn, RetryPolicy(max_retries=2), sleep=sleep)
    assert info.value is last and fn.calls == 3 and len(sleep.calls) == 2


async def test_zero_retries_means_one_attempt() -> None:
    fn = Flaky(ProviderUnavailableError("down"))
    with pytest.raises(ProviderUnavailableError):
        await retry_call(fn, RetryPolicy(max_retries=0), sleep=FakeSleep())
    assert fn.calls == 1


async def test_too_long_retry_after_gives_up_without_sleeping() -> None:
    fn = Flaky(RateLimitError("429", retry_after=600.0))
    sleep = FakeSleep()
    with pytest.raises(RateLimitError):
        await retry_call(fn, RetryPolicy(max_retries=3, max_retry_after=30.0), sleep=sleep)
    assert fn.calls == 1 and sleep.calls == []


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "12"}) == 12.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"Retry-After": "-5"}) == 0.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(datetime(2025, 1, 1, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after({"Retry-After": later}, clock=now.timestamp) == 30.0
