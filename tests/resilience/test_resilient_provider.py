"""ResilientProvider / wrap_resilient: timeout, score pass-through, stream retry rules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from cascadeflow.config import ModelConfig
from cascadeflow.errors import MalformedResponseError, ProviderTimeoutError, StreamInterruptedError
from cascadeflow.providers.fakes import FunctionProvider, ScriptedProvider
from cascadeflow.providers.wrapper import WrapperChain, capabilities, supports, unwrap
from cascadeflow.resilience.provider import ResilientProvider, wrap_resilient
from cascadeflow.resilience.retry import RetryPolicy
from cascadeflow.types import Chunk, Completion, CompletionRequest, Message, TokenLogprob

# The hanging call below is cut by a real asyncio timeout: tiny, so the test does not wait noticeably.
TINY_TIMEOUT_S = 0.01


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def request() -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content="hi"),))


async def test_hanging_call_times_out_and_is_retried() -> None:
    attempts = 0
    never = asyncio.Event()

    async def answer(req: CompletionRequest) -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await never.wait()
        return "second try"

    sleep = FakeSleep()
    # The tier's deadline (by default one attempt's time) must leave room for the retry.
    config = ModelConfig(name="m", provider="openai", cost=0.001, timeout_s=TINY_TIMEOUT_S, max_retries=1,
                         deadline_s=30.0)
    wrapped = wrap_resilient(FunctionProvider(answer, model="m"), config, sleep=sleep)
    assert (await wrapped.complete(request())).content == "second try"
    assert attempts == 2 and len(sleep.calls) == 1


async def test_timeout_error_is_typed_when_retries_run_out() -> None:
    async def hang(req: CompletionRequest) -> str:
        await asyncio.Event().wait()
        return "never"

    config = ModelConfig(name="m", provider="openai", cost=0.001, timeout_s=TINY_TIMEOUT_S, max_retries=0)
    wrapped = wrap_resilient(FunctionProvider(hang, model="m", provider="openai"), config, sleep=FakeSleep())
    with pytest.raises(ProviderTimeoutError, match="no answer within") as info:
        await wrapped.complete(request())
    assert (info.value.model, info.value.provider) == ("m", "openai")


class Scorer(FunctionProvider):
    async def score(self, messages: Sequence[Message], text: str) -> tuple[TokenLogprob, ...]:
        return (TokenLogprob(token=text, logprob=-0.5),)


def test_score_is_a_capability_only_when_the_inner_has_it() -> None:
    config = ModelConfig(name="m", provider="local", cost=0.0)
    plain = wrap_resilient(FunctionProvider(lambda r: "x"), config)
    scoring = wrap_resilient(Scorer(lambda r: "x"), config)
    assert isinstance(plain, ResilientProvider) and not supports(plain, "score")
    assert supports(scoring, "score") and capabilities(scoring) == capabilities(unwrap(scoring))
    assert (plain.model, plain.provider) == ("function", "function")


async def test_score_goes_through_the_wrapper_and_fails_plainly_without_the_capability() -> None:
    scoring = wrap_resilient(Scorer(lambda r: "x"), ModelConfig(name="m", provider="local", cost=0.0))
    assert await scoring.score([Message(role="user", content="q")], "a") == (TokenLogprob("a", -0.5),)
    plain = wrap_resilient(FunctionProvider(lambda r: "x"), ModelConfig(name="m", provider="local", cost=0.0))
    with pytest.raises(AttributeError, match="cannot score"):
        await plain.score([Message(role="user", content="q")], "a")


async def test_capabilities_and_attributes_survive_any_number_of_wrappers() -> None:
    config = ModelConfig(name="m", provider="local", cost=0.0)
    inner = Scorer(lambda r: "x")
    inner.custom_flag = "kept"  # type: ignore[attr-defined]
    chain = WrapperChain([lambda p, c: wrap_resilient(p, c), lambda p, c: wrap_resilient(p, c)])
    wrapped = chain.wrap(inner, config)
    assert unwrap(wrapped) is inner and supports(wrapped, "score") and not supports(wrapped, "estimate_cost")
    assert wrapped.custom_flag == "kept"  # type: ignore[attr-defined]
    assert wrapped.estimate_cost(request()) is None  # type: ignore[attr-defined]
    assert await wrapped.score([Message(role="user", content="q")], "a") == (TokenLogprob("a", -0.5),)  # type: ignore[attr-defined]


class StreamOnce:
    """A provider whose streams follow a script: an exception before any chunk, or chunks then an exception."""

    provider = "test"
    model = "s"

    def __init__(self, scripts: list[list[Chunk | Exception]]) -> None:
        self.scripts = scripts
        self.opened = 0
        self.closed = False

    async def complete(self, request: CompletionRequest) -> Completion:
        raise NotImplementedError

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        self.opened += 1
        for item in self.scripts.pop(0):
            if isinstance(item, Exception):
                raise item
            yield item

    async def aclose(self) -> None:
        self.closed = True


async def test_stream_is_retried_only_before_the_first_chunk() -> None:
    inner = StreamOnce([
        [StreamInterruptedError("early")],
        [Chunk(text="Hi"), Chunk(finish_reason="stop")],
    ])
    sleep = FakeSleep()
    wrapped = ResilientProvider(inner, policy=RetryPolicy(max_retries=2), sleep=sleep)
    chunks = [c async for c in wrapped.stream(request())]
    assert [c.text for c in chunks] == ["Hi", ""] and inner.opened == 2 and len(sleep.calls) == 1

    inner = StreamOnce([[Chunk(text="Hi"), StreamInterruptedError("late")], [Chunk(text="again")]])
    wrapped = ResilientProvider(inner, policy=RetryPolicy(max_retries=2), sleep=sleep)
    with pytest.raises(StreamInterruptedError, match="late"):
        _ = [c async for c in wrapped.stream(request())]
    assert inner.opened == 1


async def test_stream_without_chunks_is_malformed() -> None:
    wrapped = ResilientProvider(StreamOnce([[]]), policy=RetryPolicy(max_retries=0))
    with pytest.raises(MalformedResponseError):
        _ = [c async for c in wrapped.stream(request())]


async def test_aclose_reaches_the_inner_provider() -> None:
    inner = StreamOnce([])
    await ResilientProvider(inner).aclose()
    assert inner.closed


async def test_scripted_fakes_work_unchanged_through_the_wrapper() -> None:
    inner = ScriptedProvider(["one answer"], model="fake")
    wrapped = ResilientProvider(inner, timeout_s=None)
    assert (await wrapped.complete(request())).content == "one answer"
    inner.assert_exhausted()


async def test_a_provider_passed_in_gets_retries_and_a_breaker() -> None:
    """``providers=`` instances go through the same chain as built ones: retried, and cut off by the breaker."""
    from cascadeflow import CascadeAgent
    from cascadeflow.errors import AllTiersFailedError, CircuitOpenError, ProviderUnavailableError
    from cascadeflow.resilience.provider import ResilienceLayer

    failures = iter([True, True, False])

    def flaky(request: CompletionRequest) -> str:
        if next(failures, True):
            raise ProviderUnavailableError("HTTP 503", model="small")
        return "The sky is blue because air scatters blue light the most."

    small = FunctionProvider(flaky, model="small")
    sleep = FakeSleep()
    agent = CascadeAgent(models=[ModelConfig("small", provider="fake", cost=0.001, max_retries=2)],
                         providers={"small": small}, resilience=ResilienceLayer(sleep=sleep))
    result = await agent.run("Why is the sky blue?")
    assert result.model_used == "small" and len(small.calls) == 3 and len(sleep.calls) == 2  # 1 try + 2 retries
    for _ in range(2):  # five more consecutive failures (1 + 2 retries, then 1 + 1) open the circuit
        with pytest.raises(AllTiersFailedError):
            await agent.run("Why is the sky blue?")
    calls = len(small.calls)
    with pytest.raises(AllTiersFailedError) as info:
        await agent.run("Why is the sky blue?")
    assert len(small.calls) == calls  # not called at all
    assert isinstance(info.value.attempts[0].error, CircuitOpenError)
