"""Gateway test fixtures: a stub upstream and the gateway itself on real uvicorn sockets (loopback only)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cascadeflow.server import GatewayConfig, create_app
from cascadeflow.server.app import GatewayApp
from cascadeflow.server.testing import ServerThread, free_port

from .stub_upstream import StubUpstream

__all__ = ["KEY_A", "KEY_B", "ServerThread", "app_of", "base_config", "free_port", "model"]

KEY_A = "sk-test-a"
KEY_B = "sk-test-b"


def model(name: str, upstream: StubUpstream, upstream_model: str | None = None, **more: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "provider": "openai", "base_url": upstream.base_url, "api_key": "up-key",
                             "cost": 0.0002, "max_retries": 0, "timeout_s": 1.0}
    if upstream_model is not None:
        entry["model"] = upstream_model
    entry.update(more)
    return entry


def base_config(upstream: StubUpstream, **more: Any) -> dict[str, Any]:
    """A passed-through model per stub behaviour, a two-tier cascade, and two keys (A: budget + rpm, B: open)."""
    models = [model("ok", upstream), model("tools", upstream)]
    for behaviour in ("fail-500", "fail-429", "slow", "reset", "garbage-json", "garbage-http", "stream-cut",
                      "slow-stream"):
        models.append(model(behaviour, upstream, timeout_s=5.0 if behaviour == "slow-stream" else 1.0))
    models.append({"name": "auto", "cascade": [
        {"name": "small", "provider": "openai", "base_url": upstream.base_url, "api_key": "x", "cost": 0.0002},
        {"name": "big", "provider": "openai", "base_url": upstream.base_url, "api_key": "x", "cost": 0.002},
    ]})
    config: dict[str, Any] = {
        "models": models,
        "keys": [{"key": KEY_A, "id": "team-a", "budget": {"daily": 10.0}, "rpm": 10_000},
                 {"key": KEY_B, "id": "team-b"}],
        "store": "memory://",
    }
    config.update(more)
    return config


@pytest.fixture(scope="module")
def upstream() -> Iterator[StubUpstream]:
    stub = StubUpstream(slow_s=3.0).start()
    yield stub
    stub.stop()


@pytest.fixture
def make_gateway(tmp_path: Path) -> Iterator[Callable[[dict[str, Any]], ServerThread]]:
    running: list[ServerThread] = []

    def start(config: dict[str, Any]) -> ServerThread:
        path = tmp_path / f"gateway-{len(running)}.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        server = ServerThread(create_app(GatewayConfig.load(path))).__enter__()
        running.append(server)
        return server

    yield start
    for server in running:
        server.__exit__()


@pytest.fixture(scope="module")
def gateway(upstream: StubUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """One gateway for the module's read-mostly tests."""
    path = tmp_path_factory.mktemp("gw") / "gateway.yaml"
    path.write_text(yaml.safe_dump(base_config(upstream)), encoding="utf-8")
    with ServerThread(create_app(GatewayConfig.load(path))) as server:
        yield server


def app_of(server: ServerThread) -> GatewayApp:
    app = server.app
    assert isinstance(app, GatewayApp)
    return app
