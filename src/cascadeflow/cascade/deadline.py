"""The run's overall deadline (``CompletionRequest.deadline``), applied by the engine to every tier's call.

Built tiers are also bounded by their resilience wrapper (which keeps retries inside the deadline); this layer
covers providers passed in as they are (``providers=``, the local pair) and skips tiers once the time is up.
Either way a cut tier fails with :class:`~cascadeflow.errors.DeadlineExceededError`, a provider failure: the
engine records it as a ``fallback`` step and, with no time left, every later tier fails the same way without
being called, so ``AllTiersFailedError`` shows where the time went.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from cascadeflow.errors import DeadlineExceededError
from cascadeflow.types import Chunk

T = TypeVar("T")


def _expired(model: str, provider: str, *, called: bool) -> DeadlineExceededError:
    what = "before this tier answered" if called else "before this tier's turn; not called"
    return DeadlineExceededError(f"the run's deadline passed {what}", model=model, provider=provider)


async def before_deadline(
    make: Callable[[], Awaitable[T]], deadline: float | None, *, model: str, provider: str
) -> T:
    """Await ``make()`` unless ``deadline`` (a ``time.monotonic()`` instant) passes first."""
    if deadline is None:
        return await make()
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _expired(model, provider, called=False)
    import asyncio  # loaded whenever a coroutine runs; kept off the import path of the package

    try:
        async with asyncio.timeout(remaining) as scope:
            return await make()
    except TimeoutError:
        if not scope.expired():
            raise
        raise _expired(model, provider, called=True) from None


def stream_before_deadline(
    chunks: AsyncIterator[Chunk], deadline: float | None, *, model: str, provider: str
) -> AsyncIterator[Chunk]:
    """``chunks``, cut when ``deadline`` passes (then the stream is closed); as is when there is none."""
    if deadline is None:
        return chunks
    return _cut_at(chunks, deadline, model=model, provider=provider)


async def _cut_at(chunks: AsyncIterator[Chunk], deadline: float, *, model: str, provider: str) -> AsyncIterator[Chunk]:
    iterator = aiter(chunks)
    try:
        while True:
            try:
                chunk = await before_deadline(lambda: anext(iterator), deadline, model=model, provider=provider)
            except StopAsyncIteration:
                return
            yield chunk
    finally:
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()
