"""A shared store that goes down under a running gateway: requests get 503 ``store_unavailable`` with
Retry-After (a dependency is down), not a 500, and the gateway keeps answering. Uses a real, private Redis
(started here, stopped mid-test) so the failure is the driver's own."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import KEY_A, ServerThread, base_config, free_port
from .stub_upstream import StubUpstream

BODY: dict[str, Any] = {"model": "ok", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
STARTUP_S = 10.0


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (scripts/services.sh installs it)")
    port = free_port()
    proc = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + STARTUP_S
    import redis

    while True:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
            break
        except redis.RedisError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("private redis-server did not start")
            time.sleep(0.05)
    yield url, proc
    proc.kill()
    proc.wait()


def post(server: ServerThread) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/chat/completions", json=BODY, headers={"authorization": f"Bearer {KEY_A}"},
                      timeout=10)


@pytest.mark.parametrize("rate_limits_in_redis", [True, False], ids=["limiter-and-ledger", "ledger-only"])
def test_redis_going_down_is_503_store_unavailable_and_the_gateway_keeps_serving(
    upstream: StubUpstream, make_gateway: Callable[[dict[str, Any]], ServerThread],
    private_redis: tuple[str, subprocess.Popen[bytes]], rate_limits_in_redis: bool,
) -> None:
    url, redis_proc = private_redis
    more: dict[str, Any] = {"store": url}
    if not rate_limits_in_redis:
        more["rate_limit_store"] = "memory://"
    server = make_gateway(base_config(upstream, **more))
    assert post(server).status_code == 200

    redis_proc.kill()
    redis_proc.wait()
    down = post(server)
    assert down.status_code == 503, down.text
    error = down.json()["error"]
    assert error["code"] == "store_unavailable" and "is unavailable" in error["message"]
    assert down.headers["retry-after"] == "1"
    store = "rate-limit store" if rate_limits_in_redis else "budget ledger"
    assert store in error["message"]
    assert httpx.get(f"{server.url}/live", timeout=5).status_code == 200  # the process itself is fine
