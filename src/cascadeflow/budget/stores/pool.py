"""A small thread-safe pool of blocking connections (SQLite, psycopg), one borrowed per store operation.

Stores are called from worker threads (``asyncio.to_thread``); a connection is never used by two threads at
once, and connections are reused instead of being opened per call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Generic, TypeVar

C = TypeVar("C")


class ConnectionPool(Generic[C]):
    def __init__(self, connect: Callable[[], C], close: Callable[[C], None]) -> None:
        self._connect = connect
        self._close = close
        self._lock = threading.Lock()
        self._idle: list[C] = []
        self._all: list[C] = []
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[C]:
        with self._lock:
            if self._closed:
                raise RuntimeError("ledger store is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
            with self._lock:
                self._all.append(conn)
        try:
            yield conn
        except BaseException:
            # A connection that failed mid-operation may be in any state: drop it rather than reuse it.
            self._discard(conn)
            raise
        with self._lock:
            if not self._closed:
                self._idle.append(conn)
                return
        self._close(conn)

    def _discard(self, conn: C) -> None:
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        with suppress(Exception):  # a broken connection may fail to close; it is being dropped anyway
            self._close(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._all, self._idle = self._all, [], []
        for conn in conns:
            self._close(conn)
