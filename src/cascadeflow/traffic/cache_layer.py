"""A response cache as a link of the wrapper chain: an exact repeat of a call is answered from the cache.

Keyed by the tier's model and everything sent to it (:func:`~cascadeflow.traffic.cache_key.request_key`; the
request's own metadata such as ``user_id`` is not part of the key). A hit costs nothing and says so
(``Completion.cached``, ``StepRecord.cached``, ``CascadeResult.cached``); only complete answers are stored.
Use it where identical requests should get identical answers (temperature 0, FAQs, retries of a whole run).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from cascadeflow.providers.wrapper import WrapperProvider
from cascadeflow.types import Chunk, Completion, CompletionRequest, Usage

if TYPE_CHECKING:
    from cascadeflow.config import ModelConfig
    from cascadeflow.providers.protocol import Provider

_FREE = Decimal(0)
_STORED_FINISH = frozenset({"stop", "tool_calls"})
"""Answers that ended on their own; a truncated (``length``) answer is not worth replaying."""


class ResponseCache(Protocol):
    """What :class:`~cascadeflow.traffic.QueryCache` and :class:`~cascadeflow.traffic.RedisCache` offer."""

    def get_request(self, model: str, request: CompletionRequest) -> Any | None: ...

    def set_request(self, model: str, request: CompletionRequest, value: Any) -> None: ...


class CachedProvider(WrapperProvider):
    """Answers repeats from ``cache``; everything else goes to the provider underneath and is stored."""

    def __init__(self, inner: Provider, cache: ResponseCache, *, blocking: bool) -> None:
        super().__init__(inner)
        self.cache = cache
        self._blocking = blocking

    async def _get(self, request: CompletionRequest) -> Completion | None:
        if self._blocking:
            found = await asyncio.to_thread(self.cache.get_request, self.model, request)
        else:
            found = self.cache.get_request(self.model, request)
        return found if isinstance(found, Completion) else None

    async def _put(self, request: CompletionRequest, completion: Completion) -> None:
        if completion.finish_reason not in _STORED_FINISH or completion.cached:
            return
        if self._blocking:
            await asyncio.to_thread(self.cache.set_request, self.model, request, completion)
        else:
            self.cache.set_request(self.model, request, completion)

    async def complete(self, request: CompletionRequest) -> Completion:
        hit = await self._get(request)
        if hit is not None:
            return replace(hit, cached=True, cost_usd=_FREE, latency_ms=0.0)
        completion = await self.inner.complete(request)
        await self._put(request, completion)
        return completion

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        hit = await self._get(request)
        if hit is not None:
            yield Chunk(text=hit.content, finish_reason=hit.finish_reason, usage=hit.usage, tool_calls=hit.tool_calls,
                        cost_usd=_FREE, cached=True)
            return
        parts: list[str] = []
        last: Chunk | None = None
        async for chunk in self.inner.stream(request):
            parts.append(chunk.text)
            last = chunk if chunk.finish_reason is not None else last
            yield chunk
        if last is not None and last.usage is not None:
            await self._put(request, Completion(content="".join(parts), model=self.model,
                                                finish_reason=last.finish_reason or "stop", usage=last.usage or Usage(),
                                                tool_calls=last.tool_calls, cost_usd=last.cost_usd))


@dataclass(frozen=True, slots=True)
class CacheLayer:
    """``CascadeAgent(cache=...)`` adds this layer to every tier's chain (after resilience)."""

    cache: ResponseCache

    def __call__(self, provider: Provider, config: ModelConfig) -> Provider:
        blocking = bool(getattr(self.cache, "blocking", False))
        return CachedProvider(provider, self.cache, blocking=blocking)
