"""Failover deadlines: a dead or slow tier costs bounded time, retries never outlive the deadline, and a run's
overall deadline holds for every tier. Clocks and sleeps are injected, or the timeouts are tiny and real;
the assertions are about behaviour (which error, which tier answered, how many attempts), never timings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from cascadeflow import AllTiersFailedError, CascadeAgent, ModelConfig, ScriptedProvider
from cascadeflow.cascade.streaming import Escalation, FinalResult
from cascadeflow.errors import (
    DeadlineExceededError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
)
from cascadeflow.providers.fakes import FunctionProvider
from cascadeflow.providers.protocol import Provider
from cascadeflow.providers.registry import default_registry
from cascadeflow.resilience.provider import ResilientProvider, wrap_resilient
from cascadeflow.resilience.retry import RetryPolicy, retry_call
from cascadeflow.types import Chunk, Completion, CompletionRequest, Message

TINY_S = 0.05  # real timeouts in these tests: small, so nothing waits noticeably
GOOD = "Paris is the capital of France."


class FakeTime:
    """An injected clock whose sleep advances it: retries 'wait' without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def request(deadline: float | None = None) -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content="What is the capital of France?"),),
                             deadline=deadline)


# --------------------------------------------------------------------------- retries inside the deadline
async def test_retries_stop_when_the_next_one_could_not_finish_before_the_deadline() -> None:
    time = FakeTime()
    attempts = 0

    async def down() -> str:
        nonlocal attempts
        attempts += 1
        raise ProviderUnavailableError("503")

    policy = RetryPolicy(max_retries=10, base_delay=1.0, max_delay=8.0, jitter=0.0, min_attempt_s=1.0)
    with pytest.raises(ProviderUnavailableError):
        await retry_call(down, policy, sleep=time.sleep, deadline=time.now + 10.0, clock=time.clock)
    # backoffs 1, 2, 4 fit (each retry still has >= 1 s before the deadline); the next one (8) would not
    assert attempts == 4 and time.sleeps == [1.0, 2.0, 4.0]


async def test_a_retry_after_beyond_the_deadline_fails_over_at_once() -> None:
    time = FakeTime()

    async def limited() -> str:
        raise RateLimitError("slow down", retry_after=20.0)

    with pytest.raises(RateLimitError):
        await retry_call(limited, RetryPolicy(max_retries=3), sleep=time.sleep, deadline=time.now + 15.0,
                         clock=time.clock)
    assert time.sleeps == []


async def test_without_a_deadline_retries_are_only_limited_by_their_count() -> None:
    time = FakeTime()
    attempts = 0

    async def down() -> str:
        nonlocal attempts
        attempts += 1
        raise ProviderUnavailableError("503")

    with pytest.raises(ProviderUnavailableError):
        await retry_call(down, RetryPolicy(max_retries=3, jitter=0.0), sleep=time.sleep, clock=time.clock)
    assert attempts == 4


async def test_the_wrapper_keeps_retries_inside_the_tiers_deadline() -> None:
    time = FakeTime()
    calls = 0

    def down(req: CompletionRequest) -> str:
        nonlocal calls
        calls += 1
        raise ProviderUnavailableError("503")

    config = ModelConfig(name="m", provider="openai", cost=0.001, max_retries=10, deadline_s=4.0)
    wrapped = wrap_resilient(FunctionProvider(down, model="m"), config, sleep=time.sleep, clock=time.clock,
                             rng=lambda: 0.0)
    with pytest.raises(ProviderUnavailableError):
        await wrapped.complete(request())
    assert calls == 3 and time.sleeps == [0.5, 1.0]  # the next backoff (2 s) would leave < 1 s of the 4 s


# --------------------------------------------------------------------------- dead and slow tiers
def _hang_forever() -> FunctionProvider:
    async def hang(req: CompletionRequest) -> str:
        await asyncio.Event().wait()
        return "never"

    return FunctionProvider(hang, model="small")


def _two_tiers(small: Provider, *, small_config: ModelConfig | None = None, **agent_kwargs: Any) -> CascadeAgent:
    small_config = small_config or ModelConfig(name="small", provider="openai", cost=0.001)
    large = ScriptedProvider([GOOD], model="large")
    return CascadeAgent(models=[small_config, ModelConfig(name="large", provider="openai", cost=0.01)],
                        providers={"small": small, "large": large}, **agent_kwargs)


async def test_a_hung_tier_costs_one_attempt_and_the_next_tier_answers() -> None:
    hung = _hang_forever()
    config = ModelConfig(name="small", provider="openai", cost=0.001, timeout_s=TINY_S, max_retries=2)
    wrapped = wrap_resilient(hung, config)  # default deadline: one attempt's time, so no retry after a timeout
    result = await _two_tiers(wrapped, small_config=config).run("What is the capital of France?")
    assert result.model_used == "large" and result.steps[0].action == "fallback"
    assert (result.steps[0].error or "").startswith("ProviderTimeoutError")
    assert len(hung.calls) == 1


StreamFn = Callable[[CompletionRequest], AsyncIterator[Chunk]]


class StreamFake(FunctionProvider):
    """A fake whose stream comes from ``fn`` (records its calls like FunctionProvider)."""

    def __init__(self, fn: StreamFn, *, model: str = "small") -> None:
        super().__init__(lambda r: "unused", model=model)
        self.stream_fn = fn

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        self.calls.append(request)
        async for chunk in self.stream_fn(request):
            yield chunk


def _trickle(chunks: Iterator[str], pause_s: float) -> StreamFake:
    async def stream(req: CompletionRequest) -> AsyncIterator[Chunk]:
        for text in chunks:
            yield Chunk(text=text)
            await asyncio.sleep(pause_s)
        yield Chunk(finish_reason="stop")

    return StreamFake(stream)


def _endless() -> Iterator[str]:
    while True:
        yield "word "


async def test_a_trickling_stream_is_cut_by_its_attempt_timeout_and_falls_back() -> None:
    small = _trickle(_endless(), TINY_S / 5)
    config = ModelConfig(name="small", provider="openai", cost=0.001, timeout_s=TINY_S, max_retries=2)
    agent = _two_tiers(wrap_resilient(small, config), small_config=config)
    events = [e async for e in agent.stream("What is the capital of France?")]
    escalation = next(e for e in events if isinstance(e, Escalation))
    assert escalation.action == "fallback" and "ProviderTimeoutError" in escalation.reason
    final = events[-1]
    assert isinstance(final, FinalResult) and final.result.model_used == "large"
    assert len(small.calls) == 1  # text was shown: a stream is never retried after its first chunk


async def test_a_stream_without_a_first_token_times_out_and_is_retried() -> None:
    calls = 0

    async def stream(req: CompletionRequest) -> AsyncIterator[Chunk]:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.Event().wait()
        yield Chunk(text=GOOD)
        yield Chunk(finish_reason="stop")

    inner = StreamFake(stream, model="m")
    config = ModelConfig(name="m", provider="openai", cost=0.001, first_token_timeout_s=TINY_S, max_retries=1)
    wrapped = wrap_resilient(inner, config, sleep=FakeTime().sleep)
    chunks = [c async for c in wrapped.stream(request())]
    assert calls == 2 and chunks[0].text == GOOD


async def test_first_token_timeout_error_names_what_was_missing() -> None:
    async def silent(req: CompletionRequest) -> AsyncIterator[Chunk]:
        await asyncio.Event().wait()
        yield Chunk(text="never")

    inner = StreamFake(silent, model="m")
    wrapped = ResilientProvider(inner, first_token_timeout_s=TINY_S, timeout_s=10.0, policy=RetryPolicy(max_retries=0))
    with pytest.raises(ProviderTimeoutError, match="no first token"):
        async for _ in wrapped.stream(request()):
            pass


async def test_a_server_that_accepts_and_never_answers_fails_over_to_the_next_tier() -> None:
    """A real socket on loopback that reads the request and says nothing: the built provider's limits apply."""
    connections: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.read(65536)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        config = ModelConfig(name="small", provider="openai", cost=0.001, api_key="sk-test",
                             base_url=f"http://127.0.0.1:{port}/v1", timeout_s=TINY_S * 4, max_retries=2)
        small = wrap_resilient(default_registry().build(config), config)
        agent = _two_tiers(small, small_config=config)
        result = await agent.run("What is the capital of France?")
        await agent.aclose()
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()
    assert result.model_used == "large" and (result.steps[0].error or "").startswith("ProviderTimeoutError")
    assert len(connections) == 1  # one attempt: the timed-out attempt used the tier's whole budget


def test_the_connect_timeout_reaches_the_http_client() -> None:
    config = ModelConfig(name="m", provider="openai", cost=0.001, api_key="sk-test", connect_timeout_s=2.5,
                         timeout_s=20.0, base_url="http://127.0.0.1:9/v1")
    provider = default_registry().build(config)
    timeout = provider._http.client.timeout  # type: ignore[attr-defined]
    assert (timeout.connect, timeout.read) == (2.5, 20.0)


# --------------------------------------------------------------------------- the run's overall deadline
async def test_the_run_deadline_cuts_an_injected_tier_and_every_later_one() -> None:
    slow_large_calls = 0

    async def slow(req: CompletionRequest) -> str:
        nonlocal slow_large_calls
        slow_large_calls += 1
        await asyncio.sleep(10)
        return GOOD

    small, large = _hang_forever(), FunctionProvider(slow, model="large")
    agent = CascadeAgent(models=[ModelConfig(name="small", provider="fake", cost=0.001),
                                 ModelConfig(name="large", provider="fake", cost=0.01)],
                         providers={"small": small, "large": large}, deadline_s=TINY_S)
    with pytest.raises(AllTiersFailedError) as info:
        await agent.run("What is the capital of France?")
    assert [type(a.error) for a in info.value.attempts] == [DeadlineExceededError, DeadlineExceededError]
    assert len(small.calls) == 1 and slow_large_calls <= 1


async def test_a_per_call_deadline_overrides_the_agents_and_cuts_a_trickling_stream() -> None:
    small = _trickle(_endless(), TINY_S / 5)
    agent = _two_tiers(small, deadline_s=60.0)
    with pytest.raises(AllTiersFailedError) as info:
        async for _ in agent.stream("What is the capital of France?", deadline_s=TINY_S):
            pass
    assert isinstance(info.value.attempts[0].error, DeadlineExceededError)
    assert all(isinstance(a.error, DeadlineExceededError) for a in info.value.attempts)


async def test_the_run_deadline_binds_the_wrapper_without_opening_the_breaker() -> None:
    hung = _hang_forever()
    config = ModelConfig(name="small", provider="openai", cost=0.001, timeout_s=30.0, max_retries=2)
    wrapped = wrap_resilient(hung, config)
    assert isinstance(wrapped, ResilientProvider)
    loop = asyncio.get_running_loop()
    with pytest.raises(DeadlineExceededError):
        await wrapped.complete(request(deadline=loop.time() + TINY_S))
    assert len(hung.calls) == 1 and wrapped.breaker.consecutive_failures == 0


async def test_a_tier_whose_turn_comes_after_the_deadline_is_not_called() -> None:
    large = ScriptedProvider([GOOD], model="large")
    agent = CascadeAgent(models=[ModelConfig(name="large", provider="fake", cost=0.01)], providers={"large": large})
    past = request(deadline=asyncio.get_running_loop().time() - 1.0)
    with pytest.raises(AllTiersFailedError, match="not called"):
        await agent.engine.run(past)
    assert large.calls == []


async def test_an_answer_within_the_deadline_is_unaffected() -> None:
    agent = _two_tiers(FunctionProvider(lambda r: Completion(content=GOOD, model="small"), model="small"),
                       deadline_s=30.0)
    result = await agent.run("What is the capital of France?")
    assert result.model_used == "small"
