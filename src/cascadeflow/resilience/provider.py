"""``ResilientProvider``: any provider, wrapped with timeout, circuit breaker and retry — same interface.

Order per call: retry( breaker( timeout( inner call ) ) ). Each attempt passes the breaker, so an endpoint that
went down mid-retry stops being called; a timeout counts as a transient failure and may be retried.
Streams are retried only until their first chunk: once text has reached the caller, a retry would repeat it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from cascadeflow.config import ModelConfig
from cascadeflow.errors import MalformedResponseError, ProviderError, ProviderTimeoutError, RetriableProviderError
from cascadeflow.providers.protocol import Provider, ScoringProvider
from cascadeflow.resilience.breaker import BreakerConfig, CircuitBreaker, Clock
from cascadeflow.resilience.retry import RandomFn, RetryPolicy, SleepFn, retry_call
from cascadeflow.types import Chunk, Completion, CompletionRequest, Message, TokenLogprob

T = TypeVar("T")


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


class ResilientProvider:
    """Wraps ``inner`` (any :class:`Provider`); ``provider``/``model`` are the inner's, errors stay typed."""

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
    ) -> None:
        self.inner = inner
        self.provider = inner.provider
        self.model = inner.model
        self.policy = policy or RetryPolicy()
        self.timeout_s = timeout_s
        self.breaker = breaker or CircuitBreaker(name=inner.model, provider=inner.provider)
        self._sleep: SleepFn = sleep or asyncio.sleep
        self._rng = rng
        self._on_retry = on_retry

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r}, timeout_s={self.timeout_s}, policy={self.policy})"

    async def _with_timeout(self, awaitable: Awaitable[T]) -> T:
        if self.timeout_s is None:
            return await awaitable
        try:
            async with asyncio.timeout(self.timeout_s):
                return await awaitable
        except TimeoutError:
            raise ProviderTimeoutError(
                f"no answer within {self.timeout_s:g}s", model=self.model, provider=self.provider
            ) from None

    async def _attempt(self, make: Callable[[], Awaitable[T]]) -> T:
        """One attempt through the breaker and the timeout; transient failures count against the endpoint."""
        self.breaker.acquire()
        try:
            result = await self._with_timeout(make())
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

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        return await retry_call(
            lambda: self._attempt(make), self.policy, sleep=self._sleep, rng=self._rng, on_retry=self._on_retry
        )

    async def complete(self, request: CompletionRequest) -> Completion:
        return await self._call(lambda: self.inner.complete(request))

    async def _open_stream(self, request: CompletionRequest) -> tuple[AsyncIterator[Chunk], Chunk]:
        iterator = aiter(self.inner.stream(request))
        try:
            first = await anext(iterator)
        except StopAsyncIteration:
            raise MalformedResponseError("the stream ended without any chunk", model=self.model,
                                         provider=self.provider) from None
        except BaseException:
            await _aclose(iterator)
            raise
        return iterator, first

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        iterator, first = await self._call(lambda: self._open_stream(request))
        try:
            yield first
            while True:
                try:
                    chunk = await self._with_timeout(anext(iterator))
                except StopAsyncIteration:
                    return
                except RetriableProviderError:
                    self.breaker.record_failure()  # no retry: the caller has already seen part of the answer
                    raise
                yield chunk
        finally:
            await _aclose(iterator)

    async def aclose(self) -> None:
        await self.inner.aclose()


class ResilientScoringProvider(ResilientProvider):
    """The wrapper for providers that can also score given text; ``score`` gets the same protection."""

    inner: ScoringProvider

    def __init__(self, inner: ScoringProvider, **kwargs: Any) -> None:
        super().__init__(inner, **kwargs)
        self.inner = inner

    async def score(self, messages: Sequence[Message], text: str) -> tuple[TokenLogprob, ...]:
        return await self._call(lambda: self.inner.score(messages, text))


def wrap_resilient(
    provider: Provider,
    config: ModelConfig,
    *,
    sleep: SleepFn | None = None,
    clock: Clock | None = None,
    breaker_config: BreakerConfig | None = None,
    rng: RandomFn = random.random,
) -> Provider:
    """Wrap one tier's provider using ``config.max_retries`` and ``config.timeout_s``; keeps ``score`` if present."""
    breaker = CircuitBreaker(breaker_config, name=config.name, provider=config.provider, clock=clock or time.monotonic)
    kwargs: dict[str, Any] = {
        "policy": RetryPolicy(max_retries=config.max_retries),
        "timeout_s": config.timeout_s,
        "breaker": breaker,
        "sleep": sleep,
        "rng": rng,
    }
    if isinstance(provider, ScoringProvider):
        return ResilientScoringProvider(provider, **kwargs)
    return ResilientProvider(provider, **kwargs)
