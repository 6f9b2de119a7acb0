"""A client that goes away mid-stream stops the upstream call and the text it had cost is settled, not released."""

from __future__ import annotations

import socket
import time
from decimal import Decimal

from cascadeflow.cascade.streaming import CHARS_PER_TOKEN

from .conftest import KEY_A, ServerThread, app_of
from .stub_upstream import StubUpstream

WAIT_S = 10.0
BODY = b'{"model": "slow-stream", "stream": true, "messages": [{"role": "user", "content": "Count slowly."}]}'


def open_stream(server: ServerThread) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + KEY_A.encode()
                 + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(BODY)).encode()
                 + b"\r\n\r\n" + BODY)
    received = b""
    deadline = time.monotonic() + WAIT_S
    while received.count(b"data: ") < 3 and time.monotonic() < deadline:  # a few chunks arrive, live
        received += sock.recv(65536)
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    return sock


def test_disconnect_stops_upstream_and_settles_cost(gateway: ServerThread, upstream: StubUpstream) -> None:
    tracker = app_of(gateway).gateway.tracker
    assert tracker is not None
    before_spent = tracker.spent("team-a", "total")
    aborted = upstream.aborted
    sock = open_stream(gateway)
    sock.close()
    deadline = time.monotonic() + WAIT_S
    while upstream.aborted == aborted and time.monotonic() < deadline:
        time.sleep(0.02)
    assert upstream.aborted == aborted + 1  # the gateway closed its upstream connection (well before 10 s)
    while tracker.spent("team-a", "total") == before_spent and time.monotonic() < deadline:
        time.sleep(0.02)
    spent = tracker.spent("team-a", "total") - before_spent
    assert spent > Decimal(0)  # what was generated before the client left is on the key's ledger
    records = [r for r in tracker.records("team-a") if r.model == "slow-stream"]
    prompt_tokens = -(-len("Count slowly.") // CHARS_PER_TOKEN)
    assert records and records[-1].input_tokens == prompt_tokens and records[-1].output_tokens >= 3

