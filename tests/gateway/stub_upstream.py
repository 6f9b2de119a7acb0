"""A misbehaving-on-demand OpenAI-compatible upstream for the gateway tests (raw asyncio, its own thread).

The requested model name picks the behaviour: ``ok`` (or anything unknown) answers normally (SSE when asked);
``fail-500``, ``fail-429`` (Retry-After: 7), ``slow`` (answers after ``slow_s``), ``reset`` (drops the
connection), ``garbage-json`` (200 with a non-JSON body), ``garbage-http`` (not HTTP at all), ``stream-cut``
(three chunks, then the connection ends), ``slow-stream`` (a chunk every 50 ms for 2 s; counts clients that went
away in ``aborted``), ``tools`` (a tool call). Completion tokens honour ``max_tokens`` so budgets never overrun.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
from typing import Any

CONTENT = "Hello! This is a fixed reply from the stub upstream."
WORDS = CONTENT.split(" ")
PROMPT_TOKENS = 12
SLOW_STREAM_CHUNKS = 40
"""A slow stream lasts 40 x 50 ms = 2 s: long enough to disconnect or drain in the middle of it."""


def _usage(request: dict[str, Any]) -> dict[str, int]:
    limit = request.get("max_tokens")
    completion = min(len(WORDS), limit) if isinstance(limit, int) else len(WORDS)
    return {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": completion,
            "total_tokens": PROMPT_TOKENS + completion}


def _http(status: str, body: bytes, content_type: bytes = b"application/json", extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 " + status.encode() + b"\r\ncontent-type: " + content_type + b"\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None, **more: Any) -> bytes:
    data = {"id": "stub", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **more}
    return b"data: " + json.dumps(data).encode() + b"\n\n"


class StubUpstream:
    def __init__(self, slow_s: float = 2.0) -> None:
        self.slow_s = slow_s
        self.requests: list[dict[str, Any]] = []
        self.aborted = 0
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> StubUpstream:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        self._server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                request = json.loads(body) if body else {}
                self.requests.append(request)
                if not await self._respond(request, reader, writer):
                    return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _respond(self, request: dict[str, Any], reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> bool:
        model = str(request.get("model", "ok"))
        if model == "fail-500":
            writer.write(_http("500 Internal Server Error", b'{"error": {"message": "upstream exploded"}}'))
        elif model == "fail-429":
            writer.write(_http("429 Too Many Requests", b'{"error": {"message": "slow down"}}',
                               extra=b"retry-after: 7\r\n"))
        elif model == "garbage-json":
            writer.write(_http("200 OK", b"this is not json {"))
        elif model == "garbage-http":
            writer.write(b"NOT HTTP AT ALL\r\n\r\n")
            await writer.drain()
            return False
        elif model == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        elif model == "slow":
            await asyncio.sleep(self.slow_s)
            writer.write(_http("200 OK", self._completion(request)))
        elif request.get("stream"):
            return await self._stream(request, model, reader, writer)
        else:
            writer.write(_http("200 OK", self._completion(request)))
        await writer.drain()
        return True

    def _completion(self, request: dict[str, Any]) -> bytes:
        message: dict[str, Any] = {"role": "assistant", "content": CONTENT}
        finish = "stop"
        if request.get("model") == "tools":
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            ]}
            finish = "tool_calls"
        return json.dumps({"id": "stub", "object": "chat.completion", "created": 0, "model": request.get("model"),
                           "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                           "usage": _usage(request)}).encode()

    async def _stream(self, request: dict[str, Any], model: str, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        count = SLOW_STREAM_CHUNKS if model == "slow-stream" else len(WORDS)
        for i in range(count):
            word = WORDS[i % len(WORDS)]
            piece = _chunk(model, {"content": word if i == 0 else " " + word})
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            try:
                await writer.drain()
            except ConnectionError:
                self.aborted += 1
                return False
            if model == "stream-cut" and i == 2:
                return False
            if model == "slow-stream":
                await asyncio.sleep(0.05)
                if reader.at_eof() or writer.is_closing():
                    self.aborted += 1
                    return False
        tail = _chunk(model, {}, "stop", usage=_usage(request)) + b"data: [DONE]\n\n"
        writer.write(f"{len(tail):x}\r\n".encode() + tail + b"\r\n0\r\n\r\n")
        await writer.drain()
        return True
