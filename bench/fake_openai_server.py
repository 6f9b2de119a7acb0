"""A tiny OpenAI-compatible server for benchmarks: every chat completion gets the same fixed, solid answer.

Loopback only, keep-alive, in its own process (``serve_in_background``), so client timings are not disturbed by
the server's work. Shared by bench/added_latency.py and bench/cold_start.py.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import socket
import time

QUERY = "What color is the sky on a clear day?"
ANSWER = "The sky is blue on a clear day, because air molecules scatter blue sunlight the most."
_BODY = json.dumps(
    {
        "id": "bench",
        "object": "chat.completion",
        "model": "bench-small",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 14, "completion_tokens": 18, "total_tokens": 32},
    }
).encode()


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(_BODY)).encode()
                + b"\r\n\r\n"
                + _BODY
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError):
        writer.close()


def _serve(port: int) -> None:
    async def main() -> None:
        server = await asyncio.start_server(_handle, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def serve_in_background(port: int = 0) -> tuple[multiprocessing.Process, str]:
    """Start the server on ``port`` (0: a free one); returns the process and the base URL (``…/v1``)."""
    if port == 0:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
    process = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    process.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.02)
    return process, f"http://127.0.0.1:{port}/v1"
