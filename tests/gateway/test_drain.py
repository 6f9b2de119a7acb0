"""SIGTERM: /health turns 503 at once, requests are still served during the grace period, a stream in flight
finishes, then the process exits by itself."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import httpx

from .conftest import KEY_B, base_config
from .processes import GatewayProcess
from .stub_upstream import SLOW_STREAM_CHUNKS, StubUpstream

EXIT_TIMEOUT_S = 30.0
BODY = b'{"model": "slow-stream", "stream": true, "messages": [{"role": "user", "content": "Count slowly."}]}'


def test_sigterm_drains_then_exits(upstream: StubUpstream, tmp_path: Path) -> None:
    config = base_config(upstream, server={"drain_grace_s": 1.0, "drain_timeout_s": 20})
    gw = GatewayProcess(config, tmp_path / "gateway.yaml").wait_ready()
    try:
        sock = socket.create_connection(("127.0.0.1", gw.port))
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + KEY_B.encode()
                     + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(BODY)).encode()
                     + b"\r\n\r\n" + BODY)
        received = sock.recv(65536)
        assert received.startswith(b"HTTP/1.1 200")
        gw.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        health = httpx.get(f"{gw.url}/health", timeout=5)
        assert health.status_code == 503 and health.json()["status"] == "draining"
        still = httpx.post(f"{gw.url}/v1/chat/completions", headers={"Authorization": f"Bearer {KEY_B}"},
                           json={"model": "ok", "messages": [{"role": "user", "content": "hi"}]}, timeout=5)
        assert still.status_code == 200 and still.headers["connection"] == "close"
        sock.settimeout(EXIT_TIMEOUT_S)
        while b"data: [DONE]" not in received:
            more = sock.recv(65536)
            assert more, "the stream was cut by the shutdown"
            received += more
        assert received.count(b'"content"') >= SLOW_STREAM_CHUNKS
        sock.close()
        assert gw.proc.wait(EXIT_TIMEOUT_S) in (0, -signal.SIGTERM)
    finally:
        gw.stop()
