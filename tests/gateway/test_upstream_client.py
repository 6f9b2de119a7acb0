"""The gateway's upstream HTTP client on its own: connection reuse, a stale idle connection retried once,
chunked and close-delimited bodies, timeouts and size limits (a raw asyncio server scripts each answer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from cascadeflow.server.upstream import ConnectionPool, UpstreamError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
REQUEST = b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


class Server:
    def __init__(self) -> None:
        self.accepted = 0
        self.port = 0
        self.answers: list[bytes | None] = []
        """One entry per request: bytes to send back, None to close the connection after answering."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            while self.answers:
                await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(2)
                answer = self.answers.pop(0)
                if answer is None:
                    writer.write(OK)
                    await writer.drain()
                    return
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()
    srv = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = srv.sockets[0].getsockname()[1]
    yield state
    srv.close()


async def fetch(pool: ConnectionPool, limit: int = 1 << 20) -> tuple[int, bytes]:
    response = await pool.request(REQUEST, b"{}", limit_s=2.0)
    body = await response.read(limit)
    response.close()
    return response.status, body


async def test_keep_alive_reuses_one_connection(server: Server) -> None:
    server.answers = [OK, OK, OK]
    pool = ConnectionPool("127.0.0.1", server.port, tls=False, connect_timeout=2)
    assert [await fetch(pool) for _ in range(3)] == [(200, b"ok")] * 3
    assert server.accepted == 1
    await pool.aclose()


async def test_stale_idle_connection_is_retried_once_on_a_fresh_one(server: Server) -> None:
    server.answers = [None, OK]  # the server closes the first connection after its answer
    pool = ConnectionPool("127.0.0.1", server.port, tls=False, connect_timeout=2)
    assert await fetch(pool) == (200, b"ok")
    await asyncio.sleep(0.05)
    assert await fetch(pool) == (200, b"ok")
    assert server.accepted == 2
    await pool.aclose()


async def test_chunked_and_close_delimited_bodies(server: Server) -> None:
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    until_close = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end"
    server.answers = [chunked, until_close]
    pool = ConnectionPool("127.0.0.1", server.port, tls=False, connect_timeout=2)
    assert await fetch(pool) == (200, b"abcde")
    response = await pool.request(REQUEST, b"{}", limit_s=2.0)  # no answers left: the server then closes
    assert await response.read() == b"until the end"
    await pool.aclose()


async def test_timeout_size_limit_and_refused_connection(server: Server) -> None:
    short = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12345"
    server.answers = [short, b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n" + b"x" * 9]
    pool = ConnectionPool("127.0.0.1", server.port, tls=False, connect_timeout=2)
    response = await pool.request(REQUEST, b"{}", limit_s=0.2)
    with pytest.raises(UpstreamError) as info:
        await response.read()  # five bytes of ten, then nothing: the request's time limit
    assert info.value.kind == "timeout"
    response = await pool.request(REQUEST, b"{}", limit_s=2.0)
    with pytest.raises(UpstreamError) as info:
        await response.read(limit=4)
    assert info.value.kind == "too_large"
    await pool.aclose()
    dead = ConnectionPool("127.0.0.1", 1, tls=False, connect_timeout=1)
    with pytest.raises(UpstreamError) as info:
        await dead.request(REQUEST, b"{}", limit_s=1.0)
    assert info.value.kind == "connect"
