"""Run the agent's coroutines from a framework's synchronous API (LangChain ``invoke``, CrewAI ``call``).

``asyncio.run`` per call would build a fresh event loop, and with it a fresh HTTP client (TLS trust store,
~55 ms) and a fresh connection, every time; it also fails when the caller's thread already runs a loop
(Jupyter, a sync tool called from async code). So each adapter owns one private loop in a daemon thread,
started on the first sync call. The caller's context variables travel with each call
(``run_coroutine_threadsafe`` schedules it inside a copy of the caller's context), so a run session
opened around the call still sees it.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """A private event loop in a daemon thread; ``run`` blocks the calling thread until the coroutine is done.

    Owners call :meth:`close_with` so the thread ends when they are garbage collected (an adapter built per
    request must not leave a thread behind)."""

    def __init__(self, name: str = "cascadeflow-sync") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def close_with(self, owner: object) -> None:
        weakref.finalize(owner, self.close)

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                self._thread.start()
                self._loop = loop
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self._ensure()
        if _running_loop() is loop:
            coro.close()
            raise RuntimeError("a sync cascadeflow call was made from inside its own event loop thread")
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def iterate(self, stream: AsyncIterator[T]) -> Iterator[T]:
        """Drive an async iterator from sync code, one item per hop; closes it if the caller stops early."""
        try:
            while True:
                try:
                    yield self.run(_anext(stream))
                except StopAsyncIteration:
                    return
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                self.run(close())

    def close(self) -> None:
        """Stop the loop and its thread; a later sync call starts a new one."""
        with self._lock:
            loop, self._loop = self._loop, None
            thread, self._thread = self._thread, None
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None and thread is not threading.current_thread():
            thread.join()
            loop.close()


async def _anext(stream: AsyncIterator[T]) -> T:
    return await stream.__anext__()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
