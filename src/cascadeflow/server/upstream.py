"""A small keep-alive HTTP/1.1 client for the gateway's upstream calls: asyncio protocol + httptools parser.

Why not httpx: on this 2-core machine one httpx POST costs ~0.9 ms of CPU, aiohttp ~0.2 ms, this ~0.06 ms
(``bench/gateway.py`` measures the whole gateway). A gateway makes one such call per request, so the client
decides how many requests a core can serve. It does only what an OpenAI-compatible upstream needs: POST/GET with
a JSON body, TLS, Content-Length or chunked answers read whole or as they arrive, connection reuse, and timeouts.
No proxies, redirects, cookies or compression (``server.upstream_client: httpx`` uses the library's providers).

Errors are :class:`UpstreamError` with a ``kind`` (connect, timeout, reset, protocol, too_large); the provider
maps them into cascadeflow's tree. A connection whose answer was not read to the end is closed, never reused; a
reused connection that the server closed before answering is retried once on a fresh one (nothing was sent back,
so the server never saw the request as started).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator
from typing import Final, Literal

import httptools

ErrorKind = Literal["connect", "timeout", "reset", "protocol", "too_large"]
MAX_BODY_BYTES: Final = 64 * 1024 * 1024
"""An answer larger than 64 MiB is no chat completion; reading on would only exhaust memory."""
PAUSE_BYTES: Final = 1024 * 1024
"""Stop reading from the socket while this much of a streamed answer waits for the consumer (backpressure)."""
MAX_IDLE: Final = 512
"""Idle connections kept per origin: enough for the concurrency one gateway process serves."""


class UpstreamError(Exception):
    """A transport failure talking to the upstream (no HTTP status involved)."""

    def __init__(self, kind: ErrorKind, message: str, *, received: bool = False) -> None:
        self.kind = kind
        self.received = received
        """Whether any byte of the answer had arrived (a retry on a fresh connection is safe only if not)."""
        super().__init__(message)


class Response:
    """An answer being received: status and headers first, then the body, whole or chunk by chunk."""

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._complete = False
        self._error: UpstreamError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._head_ready = False
        self.until_close = False
        """Neither Content-Length nor chunked: the body is delimited by the end of the connection."""

    def header(self, name: str) -> str | None:
        key = name.lower().encode()
        for k, v in self.headers:
            if k == key:
                return v.decode("latin-1")
        return None

    def header_map(self) -> dict[str, str]:
        return {k.decode("latin-1"): v.decode("latin-1") for k, v in self.headers}

    # --- fed by the connection ------------------------------------------------------------------------
    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > PAUSE_BYTES:
            self._conn.pause()
        self._wake()

    def _head(self, status: int) -> None:
        self.status = status
        self._head_ready = True
        self._wake()

    def _finish(self) -> None:
        self._complete = True
        self._wake()

    def _fail(self, error: UpstreamError) -> None:
        if not self._complete and self._error is None:
            self._error = error
        self._wake()

    # --- read by the caller ---------------------------------------------------------------------------
    async def _wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        except asyncio.CancelledError:
            self._conn.abandon()
            raise

    async def wait_head(self) -> None:
        while not self._head_ready:
            if self._error is not None:
                raise self._error
            await self._wait()

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; raises UpstreamError if the connection fails before the end."""
        while True:
            while self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._buffered <= PAUSE_BYTES:
                    self._conn.resume()
                yield chunk
            if self._complete:
                self._conn.done(self)
                return
            if self._error is not None:
                raise self._error
            await self._wait()

    async def read(self, limit: int = MAX_BODY_BYTES) -> bytes:
        parts: list[bytes] = []
        size = 0
        async for chunk in self.iter_chunks():
            size += len(chunk)
            if size > limit:
                self._conn.abandon()
                raise UpstreamError("too_large", f"the answer is larger than {limit} bytes", received=True)
            parts.append(chunk)
        return b"".join(parts)

    def close(self) -> None:
        """Stop reading: an answer not read to its end takes its connection with it."""
        if self._complete and not self._chunks:
            self._conn.done(self)
        else:
            self._conn.abandon()


class _Connection(asyncio.Protocol):
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._response: Response | None = None
        self.closed = False
        self._paused = False
        self._received = False
        self._timer: asyncio.TimerHandle | None = None
        self._keep_alive = False

    # asyncio protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._error(UpstreamError("protocol", f"invalid HTTP answer ({exc})", received=True))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        response = self._response
        if response is not None:
            if exc is None and response._head_ready and response.until_close:
                response._finish()  # no length, not chunked: the body ends where the connection does
                return
            why = f"{type(exc).__name__}: {exc}" if exc else "closed by the server"
            response._fail(UpstreamError("reset", f"connection lost ({why})", received=self._received))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if self._response is not None:
            self._response.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        response = self._response
        if response is not None:
            names = {name for name, _ in response.headers}
            chunked = any(n == b"transfer-encoding" and b"chunked" in v.lower() for n, v in response.headers)
            response.until_close = b"content-length" not in names and not chunked
            response._head(self._parser.get_status_code())

    def on_body(self, body: bytes) -> None:
        if self._response is not None:
            self._response._feed(body)

    def on_message_complete(self) -> None:
        self._cancel_timer()
        self._keep_alive = self._parser.should_keep_alive()  # llhttp forgets it once the message is done
        if self._response is not None:
            self._response._finish()

    # used by Response / pool
    def send(self, data: bytes, response: Response, timeout: float) -> None:
        assert self._transport is not None
        self._response = response
        self._received = False
        self._keep_alive = False
        self._timer = asyncio.get_running_loop().call_later(timeout, self._timed_out, timeout)
        self._transport.write(data)

    def _timed_out(self, timeout: float) -> None:
        self._timer = None
        self._error(UpstreamError("timeout", f"no complete answer within {timeout:g}s", received=self._received))

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _error(self, error: UpstreamError) -> None:
        if self._response is not None:
            self._response._fail(error)
        self.abandon()

    def pause(self) -> None:
        if not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()

    def resume(self) -> None:
        if self._paused and self._transport is not None and not self.closed:
            self._paused = False
            self._transport.resume_reading()

    def done(self, response: Response) -> None:
        """The answer was read to its end: back to the pool if the server keeps the connection open."""
        if self._response is not response:
            return
        self._response = None
        if self.closed or not self._keep_alive:
            self.abandon()
        else:
            self._pool.release(self)

    def abandon(self) -> None:
        self._cancel_timer()
        self.closed = True
        if self._transport is not None:
            self._transport.close()


class ConnectionPool:
    """Keep-alive connections to one origin (scheme, host, port)."""

    def __init__(self, host: str, port: int, *, tls: bool, connect_timeout: float, max_idle: int = MAX_IDLE) -> None:
        self.host = host
        self.port = port
        self._ssl: ssl.SSLContext | None = ssl.create_default_context() if tls else None
        self._connect_timeout = connect_timeout
        self._idle: deque[_Connection] = deque()
        self._max_idle = max_idle
        default_port = 443 if tls else 80
        name = f"[{host}]" if ":" in host else host  # an IPv6 literal is bracketed in Host
        self.host_header = name if port == default_port else f"{name}:{port}"

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(self), self.host, self.port, ssl=self._ssl,
                                       server_hostname=self.host if self._ssl else None),
                self._connect_timeout,
            )
        except TimeoutError:
            raise UpstreamError("timeout", f"no connection within {self._connect_timeout:g}s") from None
        except (OSError, ssl.SSLError) as exc:
            raise UpstreamError("connect", f"could not connect ({type(exc).__name__}: {exc})") from None
        return conn

    def release(self, conn: _Connection) -> None:
        if len(self._idle) < self._max_idle:
            self._idle.append(conn)
        else:
            conn.abandon()

    async def request(self, head: bytes, body: bytes, *, limit_s: float) -> Response:
        """Send one request (``head`` ends with the blank line) and wait for the answer's status and headers."""
        for attempt in range(2):
            conn: _Connection | None = None
            while attempt == 0 and self._idle:
                candidate = self._idle.pop()
                if not candidate.closed:
                    conn = candidate
                    break
            reused = conn is not None
            if conn is None:
                conn = await self._open()
            response = Response(conn)
            conn.send(head + body, response, limit_s)
            try:
                await response.wait_head()
            except UpstreamError as exc:
                conn.abandon()
                if reused and exc.kind == "reset" and not exc.received:
                    continue  # the server had closed this idle connection: once more on a fresh one
                raise
            return response
        raise AssertionError("unreachable")  # pragma: no cover - the second try never continues

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().abandon()
