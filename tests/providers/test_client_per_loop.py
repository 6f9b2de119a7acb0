"""One agent, several event loops: ``asyncio.run`` twice, or a framework's sync API next to its async one.

A pooled keep-alive connection belongs to the loop that opened it, so the provider keeps one HTTP client per
loop. The server here is a real HTTP/1.1 keep-alive server on loopback: a mock transport has no connections
to reuse and could not show the failure ("Event loop is closed" on the second ``asyncio.run``).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cascadeflow import CascadeAgent
from cascadeflow.config import ModelConfig

ANSWER = {
    "id": "x",
    "object": "chat.completion",
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Blue."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client pools the connection

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        body = json.dumps(ANSWER).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_one_agent_answers_from_successive_asyncio_runs(server_url: str) -> None:
    agent = CascadeAgent(models=[ModelConfig(name="m", provider="llamacpp", base_url=server_url)])
    for _ in range(3):
        result = asyncio.run(agent.run("What color is the sky?"))
        assert result.content == "Blue."


def test_one_agent_serves_two_live_loops_and_closes_both(server_url: str) -> None:
    agent = CascadeAgent(models=[ModelConfig(name="m", provider="llamacpp", base_url=server_url)])
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever, daemon=True)
    thread.start()
    try:
        in_thread = asyncio.run_coroutine_threadsafe(agent.run("Sky?"), other).result(timeout=30)

        async def here() -> str:
            result = await agent.run("Sky?")
            await agent.aclose()  # closes this loop's client and schedules the other loop's close there
            return result.content

        assert asyncio.run(here()) == in_thread.content == "Blue."
    finally:
        other.call_soon_threadsafe(other.stop)
        thread.join(timeout=10)
        other.close()


def test_plain_http_clients_skip_the_trust_store_but_keep_verification_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An ``http://`` provider never speaks TLS: its client gets a context trusting no CA (cheap to build) whose
    verification is still required, so it can never make an unverified TLS connection; ``https://`` keeps the
    default trust store."""
    import ssl

    import httpx

    from cascadeflow.providers.openai_compatible import OpenAICompatibleProvider

    seen: list[object] = []
    real = httpx.AsyncClient

    def spy(*args: object, **kwargs: object) -> httpx.AsyncClient:
        seen.append(kwargs.get("verify", "default"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx, "AsyncClient", spy)
    for url in ("http://127.0.0.1:9/v1", "https://api.example.com/v1"):
        provider = OpenAICompatibleProvider(model="m", base_url=url, api_key="k")
        assert provider._http.client is not None
    plain, tls = seen
    assert isinstance(plain, ssl.SSLContext)
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
    assert plain.cert_store_stats()["x509_ca"] == 0
    assert tls == "default"
