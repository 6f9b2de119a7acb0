"""CircuitBreaker state machine with a fake clock, alone and inside ResilientProvider."""

from __future__ import annotations

import pytest

from cascadeflow.errors import BadRequestError, CircuitOpenError, ConfigError, ProviderUnavailableError
from cascadeflow.providers.fakes import ScriptedProvider
from cascadeflow.resilience.breaker import BreakerConfig, CircuitBreaker
from cascadeflow.resilience.provider import ResilientProvider
from cascadeflow.resilience.retry import RetryPolicy
from cascadeflow.types import CompletionRequest, Message


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: FakeClock, threshold: int = 3, cooldown: float = 30.0) -> CircuitBreaker:
    return CircuitBreaker(BreakerConfig(failure_threshold=threshold, cooldown_s=cooldown), name="m", clock=clock)


def state(b: CircuitBreaker) -> str:
    """Read the state through a call, so the type checker does not narrow it between clock moves."""
    return b.state


def fail(b: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        b.acquire()
        b.record_failure()


def test_opens_after_n_consecutive_failures() -> None:
    clock = FakeClock()
    b = breaker(clock, threshold=3)
    fail(b, 2)
    assert state(b) == "closed"
    fail(b, 1)
    assert state(b) == "open"
    with pytest.raises(CircuitOpenError, match="3 consecutive failures"):
        b.acquire()


def test_success_resets_the_failure_count() -> None:
    b = breaker(FakeClock(), threshold=3)
    fail(b, 2)
    b.acquire()
    b.record_success()
    fail(b, 2)
    assert state(b) == "closed" and b.consecutive_failures == 2


def test_half_opens_after_cooldown_and_closes_on_success() -> None:
    clock = FakeClock()
    b = breaker(clock, threshold=1, cooldown=30.0)
    fail(b, 1)
    clock.now += 29.9
    assert state(b) == "open"
    clock.now += 0.1
    assert state(b) == "half_open"
    b.acquire()  # the one trial call
    with pytest.raises(CircuitOpenError, match="trial call"):
        b.acquire()
    b.record_success()
    assert state(b) == "closed"
    b.acquire()


def test_failed_trial_reopens_for_a_new_cooldown() -> None:
    clock = FakeClock()
    b = breaker(clock, threshold=2, cooldown=10.0)
    fail(b, 2)
    clock.now += 10.0
    b.acquire()
    b.record_failure()
    assert state(b) == "open"
    clock.now += 9.0
    assert state(b) == "open"
    clock.now += 1.0
    assert state(b) == "half_open"


def test_released_trial_lets_another_trial_through() -> None:
    clock = FakeClock()
    b = breaker(clock, threshold=1, cooldown=5.0)
    fail(b, 1)
    clock.now += 5.0
    b.acquire()
    b.release()
    b.acquire()


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError, match="failure_threshold"):
        BreakerConfig(failure_threshold=0)


def request() -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content="hi"),))


async def test_open_circuit_stops_calls_to_the_endpoint() -> None:
    clock = FakeClock()
    inner = ScriptedProvider([ProviderUnavailableError("down")] * 3 + ["back up"], model="m")
    wrapped = ResilientProvider(inner, policy=RetryPolicy(max_retries=0), breaker=breaker(clock, threshold=3))
    for _ in range(3):
        with pytest.raises(ProviderUnavailableError):
            await wrapped.complete(request())
    with pytest.raises(CircuitOpenError):
        await wrapped.complete(request())
    assert len(inner.calls) == 3  # the open circuit did not call the endpoint
    clock.now += 30.0
    assert (await wrapped.complete(request())).content == "back up"
    assert wrapped.breaker.state == "closed"
    inner.assert_exhausted()


async def test_permanent_errors_do_not_open_the_circuit() -> None:
    inner = ScriptedProvider([BadRequestError("bad")] * 3 + ["ok"], model="m")
    wrapped = ResilientProvider(inner, policy=RetryPolicy(max_retries=0), breaker=breaker(FakeClock(), threshold=2))
    for _ in range(3):
        with pytest.raises(BadRequestError):
            await wrapped.complete(request())
    assert wrapped.breaker.state == "closed"
    assert (await wrapped.complete(request())).content == "ok"
