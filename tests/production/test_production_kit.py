"""The production guide's names over the existing resilience: RetryConfig → RetryPolicy, whole-run retries only
for transient failures, the classifier, the fallback answer, CircuitBreaker(...).call, HealthMonitor fed by call
records, health_check. Fakes and injected sleep/clock: nothing waits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cascadeflow import CascadeAgent, FunctionProvider, ModelConfig, ScriptedProvider
from cascadeflow.cascade.result import StepRecord
from cascadeflow.errors import (
    AllTiersFailedError,
    Attempt,
    AuthenticationError,
    BudgetExceededError,
    CircuitOpenError,
    ConfigError,
    ProviderUnavailableError,
    RateLimitError,
)
from cascadeflow.production import (
    CircuitBreaker,
    ErrorClassifier,
    HealthMonitor,
    RetryConfig,
    execute_with_retry,
    health_check,
    query_with_fallback,
)
from cascadeflow.resilience import ResilienceLayer

ANSWER = "The sky is blue on a clear day because air scatters short blue wavelengths of sunlight the most."


def _agent(*providers: object, hooks: tuple[object, ...] = ()) -> CascadeAgent:
    models = [ModelConfig(name="small", cost=0.0001), ModelConfig(name="large", cost=0.01)][: len(providers)]
    return CascadeAgent(models=models, providers=dict(zip(["small", "large"], providers, strict=False)),  # type: ignore[arg-type]
                        resilience=False, hooks=hooks, env_file=None)  # type: ignore[arg-type]


def _down() -> ProviderUnavailableError:
    return ProviderUnavailableError("503 upstream down", model="m", provider="openai", status_code=503)


def test_retry_config_is_the_one_retry_policy() -> None:
    policy = RetryConfig(max_attempts=3, initial_delay=1.0, max_delay=60.0, exponential_base=2.0, jitter=0).policy()
    assert (policy.max_retries, policy.base_delay, policy.max_delay) == (2, 1.0, 60.0)
    assert [policy.delay(n, None) for n in (1, 2, 3, 8)] == [1.0, 2.0, 4.0, 60.0]
    with pytest.raises(ConfigError, match=r"RetryConfig\.max_attempts"):
        RetryConfig(max_attempts=0)
    with pytest.raises(ConfigError, match=r"RetryConfig\.max_delay"):
        RetryConfig(initial_delay=5, max_delay=1)


async def test_resilience_layer_takes_a_retry_config_for_every_tier() -> None:
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    script = ScriptedProvider([_down(), _down(), ANSWER], model="small")
    agent = CascadeAgent(models=[ModelConfig(name="small", cost=0.0001)], providers={"small": script},
                         resilience=ResilienceLayer(sleep=sleep, retry=RetryConfig(max_attempts=3, initial_delay=0.5,
                                                                                    jitter=0)), env_file=None)
    result = await agent.run("What color is the sky?")
    assert result.content == ANSWER and slept == [0.5, 1.0]


async def test_execute_with_retry_retries_a_transiently_failed_run_then_succeeds() -> None:
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    agent = _agent(ScriptedProvider([_down(), ANSWER], model="small"),
                   ScriptedProvider([_down()], model="large"))
    result = await execute_with_retry(agent, "What color is the sky?", RetryConfig(jitter=0), sleep=sleep)
    assert result.content == ANSWER and slept == [1.0]


async def test_permanent_failures_are_not_retried_and_raise_unchanged() -> None:
    calls = 0

    def refuse(request: object) -> str:
        nonlocal calls
        calls += 1
        raise AuthenticationError("401 bad key", model="small", provider="openai", status_code=401)

    agent = _agent(FunctionProvider(refuse, model="small"))
    with pytest.raises(AllTiersFailedError) as info:
        await execute_with_retry(agent, "hi", RetryConfig(max_attempts=5))
    assert calls == 1 and ErrorClassifier.should_alert(info.value) and not ErrorClassifier.is_retriable(info.value)


async def test_query_with_fallback_answers_the_fallback_after_the_retries() -> None:
    agent = _agent(FunctionProvider(lambda r: (_ for _ in ()).throw(_down()), model="small"))
    text = await query_with_fallback(agent, "hi", fallback_response="Try again soon.",
                                     config=RetryConfig(max_attempts=2, initial_delay=0.0, jitter=0))
    assert text == "Try again soon."
    ok = _agent(FunctionProvider(lambda r: ANSWER, model="small"))
    assert await query_with_fallback(ok, "What color is the sky?") == ANSWER


@pytest.mark.parametrize(("error", "retriable", "alert"), [
    (_down(), True, False),
    (RateLimitError("429", retry_after=1.0), True, False),
    (AuthenticationError("401", status_code=401), False, True),
    (ConfigError("models", "bad"), False, True),
    (BudgetExceededError("over budget"), False, False),
    (AllTiersFailedError([Attempt("a", _down()), Attempt("b", RateLimitError("429"))]), True, False),
    (AllTiersFailedError([Attempt("a", _down()), Attempt("b", AuthenticationError("401"))]), False, True),
    (TimeoutError("read timed out"), True, False),
    (RuntimeError("upstream said: rate_limit reached"), True, False),
    (RuntimeError("invalid_api_key"), False, True),
    (RuntimeError("division by zero"), False, False),
])
def test_error_classifier(error: BaseException, retriable: bool, alert: bool) -> None:
    assert ErrorClassifier.is_retriable(error) is retriable
    assert ErrorClassifier.should_alert(error) is alert


async def test_circuit_breaker_call_opens_after_the_threshold_and_recovers_after_the_timeout() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, recovery_timeout=60.0, clock=lambda: now[0])
    assert (breaker.failure_threshold, breaker.recovery_timeout) == (2, 60.0)

    async def fail(x: int) -> int:
        raise ValueError(x)

    async def ok(x: int) -> int:
        return x * 2

    for _ in range(2):
        with pytest.raises(ValueError):
            await breaker.call(fail, 1)
    assert breaker.is_open() and breaker.state == "open"
    with pytest.raises(CircuitOpenError):
        await breaker.call(ok, 1)
    now[0] = 60.0
    assert not breaker.is_open()
    assert breaker.state in ("half_open",)
    assert await breaker.call(ok, 21) == 42 and breaker.state == "closed" and breaker.failure_count == 0
    only_timeouts = CircuitBreaker(failure_threshold=1, expected_exception=TimeoutError)
    with pytest.raises(ValueError):
        await only_timeouts.call(fail, 1)
    assert only_timeouts.state == "closed"  # not an expected failure: the state is untouched


def _step(latency: float, *, failed: bool = False, cost: str = "0.001") -> StepRecord:
    return StepRecord(tier=0, model="m", provider="p", action="fallback" if failed else "accept", reason="r",
                      cost=Decimal(cost), latency_ms=latency, error="boom" if failed else None)


def test_health_monitor_reads_call_records_with_the_guide_rules() -> None:
    now = [100.0]
    monitor = HealthMonitor(window_size=20, clock=lambda: now[0])
    assert monitor.get_health()["status"] == "unknown"
    monitor.record_all(_step(100.0 + i) for i in range(19))
    monitor.record(_step(9000.0))
    now[0] = 130.0
    health = monitor.get_health()
    assert health["status"] == "healthy" and health["metrics"]["p95_latency_ms"] == 118.0
    assert health["metrics"]["uptime_seconds"] == 30.0 and health["metrics"]["avg_cost"] == 0.001
    monitor.record_all(_step(6000.0) for _ in range(20))
    assert monitor.get_health()["status"] == "degraded"
    monitor.record_all(_step(10.0, failed=i % 4 == 0) for i in range(20))
    health = monitor.get_health()
    assert health["status"] == "unhealthy" and health["metrics"]["error_rate_pct"] == 25.0
    assert health["reason"] == "High error rate: 25.0%"


async def test_health_monitor_as_a_hook_and_health_check() -> None:
    monitor = HealthMonitor()
    agent = _agent(FunctionProvider(lambda r: (_ for _ in ()).throw(_down()), model="small"),
                   FunctionProvider(lambda r: ANSWER, model="large"), hooks=(monitor,))
    health = await health_check(agent)
    assert health["status"] == "healthy" and health["model"] == "large" and health["latency_ms"] >= 0
    metrics = monitor.get_health()["metrics"]
    assert metrics["calls"] == 2 and metrics["error_rate_pct"] == 50.0  # one failed call of two
    broken = _agent(FunctionProvider(lambda r: (_ for _ in ()).throw(_down()), model="small"))
    assert (await health_check(broken))["status"] == "unhealthy"
