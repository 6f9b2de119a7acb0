"""``ResilientProvider``: any provider, wrapped with time limits, circuit breaker and retry — same interface.

Order per call: retry( breaker( limits( inner call ) ) ). Each attempt passes the breaker, so an endpoint that
went down mid-retry stops being called; a timeout counts as a transient failure and may be retried.
Streams are retried only until their first chunk: once text has reached the caller, a retry would repeat it.

Time limits, each an instant on the injected clock, the earliest one deciding:
- ``timeout_s``: one attempt, from sending the request to its last chunk (so a trickling stream is cut too);
- ``first_token_timeout_s``: a stream's first chunk;
- ``deadline_s``: the tier as a whole, every attempt and backoff included (retries start only if they fit);
- the request's ``deadline`` (the run's overall deadline): cut with :class:`DeadlineExceededError`, which
  does not count against the breaker — running out of the run's time is not the endpoint's fault.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from cascadeflow.config import ModelConfig
from cascadeflow.errors import (
    DeadlineExceededError,
    MalformedResponseError,
    ProviderError,
    ProviderTimeoutError,
    RetriableProviderError,
)
from cascadeflow.providers.protocol import Provider
from cascadeflow.providers.wrapper import WrapperProvider, supports
from cascadeflow.resilience.breaker import BreakerConfig, CircuitBreaker, Clock
from cascadeflow.resilience.retry import RandomFn, RetryPolicy, SleepFn, retry_call
from cascadeflow.resilience.retry_config import RetryConfig
from cascadeflow.types import Chunk, Completion, CompletionRequest, Message, TokenLogprob

T = TypeVar("T")
_RUN_DEADLINE = "the run's deadline passed before this tier answered"


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


def _discard(awaitable: Awaitable[Any]) -> None:
    """Close an awaitable that will not be awaited (no "never awaited" warning, no half-started call)."""
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()


@dataclass(frozen=True, slots=True)
class _Limit:
    """One time limit: the clock instant it expires at, and what its error says (built only if it expires)."""

    at: float
    kind: type[ProviderTimeoutError]
    what: str
    seconds: float = 0.0


class ResilientProvider(WrapperProvider):
    """Wraps ``inner`` (any :class:`Provider`); ``provider``/``model`` are the inner's, errors stay typed.

    ``score`` gets the same protection when the provider underneath can score (see
    :func:`~cascadeflow.providers.wrapper.supports`); other attributes and capabilities pass through.
    """

    def __init__(
        self,
        inner: Provider,
        *,
        policy: RetryPolicy | None = None,
        timeout_s: float | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: SleepFn | None = None,
        rng: RandomFn = random.random,
        on_retry: Callable[[int, BaseException, float], None] | None = None,
        deadline_s: float | None = None,
        first_token_timeout_s: float | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(inner)
        self.policy = policy or RetryPolicy()
        self.timeout_s = timeout_s
        self.deadline_s = deadline_s
        self.first_token_timeout_s = first_token_timeout_s
        self.breaker = breaker or CircuitBreaker(name=inner.model, provider=inner.provider)
        self._sleep: SleepFn = sleep or asyncio.sleep
        self._rng = rng
        self._on_retry = on_retry
        self._clock = clock

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.inner!r}, timeout_s={self.timeout_s}, deadline_s={self.deadline_s}, "
                f"policy={self.policy})")

    # ----------------------------------------------------------------- limits
    def _budget(self, request: CompletionRequest | None) -> _Limit | None:
        """The earlier of the tier's deadline and the run's, from now."""
        run = None if request is None else request.deadline
        if self.deadline_s is None:
            return None if run is None else _Limit(run, DeadlineExceededError, "run")
        tier = self._clock() + self.deadline_s
        if run is not None and run <= tier:
            return _Limit(run, DeadlineExceededError, "run")
        return _Limit(tier, ProviderTimeoutError, "answer within the tier's deadline of", self.deadline_s)

    def _after(self, seconds: float | None, what: str) -> _Limit | None:
        if seconds is None:
            return None
        return _Limit(self._clock() + seconds, ProviderTimeoutError, f"{what} within", seconds)

    def _error(self, limit: _Limit) -> ProviderError:
        message = _RUN_DEADLINE if limit.kind is DeadlineExceededError else f"no {limit.what} {limit.seconds:g}s"
        return limit.kind(message, model=self.model, provider=self.provider)

    async def _within(self, awaitable: Awaitable[T], *limits: _Limit | None) -> T:
        """Await within the earliest of ``limits``; its error when it expires (at once if already past)."""
        active = [limit for limit in limits if limit is not None]
        if not active:
            return await awaitable
        first = min(active, key=lambda limit: limit.at)
        remaining = first.at - self._clock()
        if remaining <= 0:
            _discard(awaitable)
            raise self._error(first)
        try:
            async with asyncio.timeout(remaining) as scope:
                return await awaitable
        except TimeoutError:
            if not scope.expired():
                raise  # the inner call's own TimeoutError: not ours to relabel
            raise self._error(first) from None

    # ----------------------------------------------------------------- calls
    async def _attempt(self, make: Callable[[], Awaitable[T]]) -> T:
        """One attempt through the breaker; transient failures count against the endpoint."""
        self.breaker.acquire()
        try:
            result = await make()
        except DeadlineExceededError:
            self.breaker.release()  # the run ran out of time: says nothing about the endpoint
            raise
        except RetriableProviderError:
            self.breaker.record_failure()
            raise
        except ProviderError:
            self.breaker.record_success()  # the endpoint is up; it refused this request (401, 400, ...)
            raise
        except BaseException:
            self.breaker.release()
            raise
        self.breaker.record_success()
        return result

    async def _call(self, make: Callable[[], Awaitable[T]], budget: _Limit | None) -> T:
        return await retry_call(
            lambda: self._attempt(make), self.policy, sleep=self._sleep, rng=self._rng, on_retry=self._on_retry,
            deadline=None if budget is None else budget.at, clock=self._clock,
        )

    async def complete(self, request: CompletionRequest) -> Completion:
        budget = self._budget(request)

        async def attempt() -> Completion:
            limit = self._attempt_limit()
            return await self._within(self.inner.complete(request), limit, budget)

        return await self._call(attempt, budget)

    def _attempt_limit(self) -> _Limit | None:
        return self._after(self.timeout_s, "answer")

    async def _open_stream(
        self, request: CompletionRequest, budget: _Limit | None
    ) -> tuple[AsyncIterator[Chunk], Chunk, _Limit | None]:
        """Start one streaming attempt and wait for its first chunk (within the first-token limit too)."""
        attempt = self._attempt_limit()
        first_token = self._after(self.first_token_timeout_s, "first token")
        iterator = aiter(self.inner.stream(request))
        try:
            first = await self._within(anext(iterator), first_token, attempt, budget)
        except StopAsyncIteration:
            raise MalformedResponseError("the stream ended without any chunk", model=self.model,
                                         provider=self.provider) from None
        except BaseException:
            await _aclose(iterator)
            raise
        return iterator, first, attempt

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        budget = self._budget(request)
        iterator, first, attempt = await self._call(lambda: self._open_stream(request, budget), budget)
        try:
            yield first
            while True:
                try:
                    chunk = await self._within(anext(iterator), attempt, budget)
                except StopAsyncIteration:
                    return
                except DeadlineExceededError:
                    raise
                except RetriableProviderError:
                    self.breaker.record_failure()  # no retry: the caller has already seen part of the answer
                    raise
                yield chunk
        finally:
            await _aclose(iterator)

    async def score(self, messages: Sequence[Message], text: str) -> tuple[TokenLogprob, ...]:
        if not supports(self.inner, "score"):
            return await super().score(messages, text)  # raises: the provider underneath cannot score
        budget = self._budget(None)

        async def attempt() -> tuple[TokenLogprob, ...]:
            limit = self._attempt_limit()
            return await self._within(super(ResilientProvider, self).score(messages, text), limit, budget)

        return await self._call(attempt, budget)


def wrap_resilient(
    provider: Provider,
    config: ModelConfig,
    *,
    sleep: SleepFn | None = None,
    clock: Clock | None = None,
    breaker_config: BreakerConfig | None = None,
    rng: RandomFn = random.random,
    policy: RetryPolicy | None = None,
) -> ResilientProvider:
    """Wrap one tier's provider with ``config``'s retries and time limits (``timeout_s``,
    ``first_token_timeout_s``, ``deadline_s``) and a circuit breaker of its own. It is the first layer of every
    tier's wrapper chain (see :class:`ResilienceLayer`)."""
    now = clock or time.monotonic
    breaker = CircuitBreaker(breaker_config, name=config.name, provider=config.provider, clock=now)
    kwargs: dict[str, Any] = {
        "policy": policy or RetryPolicy(max_retries=config.max_retries),
        "timeout_s": config.timeout_s,
        "deadline_s": config.tier_deadline_s,
        "first_token_timeout_s": config.first_token_timeout_s,
        "breaker": breaker,
        "sleep": sleep,
        "rng": rng,
        "clock": now,
    }
    return ResilientProvider(provider, **kwargs)


@dataclass(frozen=True, slots=True)
class ResilienceLayer:
    """The chain's first layer: :func:`wrap_resilient` with injectable sleep/clock (tests never wait).

    ``retry`` (a :class:`~cascadeflow.resilience.retry_config.RetryConfig`) replaces every tier's default policy
    (``ModelConfig.max_retries`` retries, 0.5 s doubling to 8 s); ``breaker_config`` every tier's breaker
    settings (5 failures, 30 s cool-down): ``CascadeAgent(resilience=ResilienceLayer(retry=RetryConfig(...)))``.
    """

    sleep: SleepFn | None = None
    clock: Clock | None = None
    breaker_config: BreakerConfig | None = None
    retry: RetryConfig | None = None

    def __call__(self, provider: Provider, config: ModelConfig) -> Provider:
        return wrap_resilient(provider, config, sleep=self.sleep, clock=self.clock,
                              breaker_config=self.breaker_config,
                              policy=None if self.retry is None else self.retry.policy())
