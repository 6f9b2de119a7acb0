"""A real llama.cpp server with SmolLM2-135M for the ``llama_server`` tests, one per test session.

Set ``CASCADEFLOW_LLAMA_SERVER_URL`` (an OpenAI base URL such as ``http://127.0.0.1:8089/v1``) to use a server
that is already running (e.g. started by ``.ci/run``); otherwise the session starts one on a free port through
``scripts/llama_server.py`` and stops it at the end. When the server cannot be installed or started the tests
fail under ``CI=true`` (a silent skip would hide a broken pipeline) and are skipped on a developer machine.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, cast

import pytest

SERVER_URL_ENV = "CASCADEFLOW_LLAMA_SERVER_URL"
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "llama_server.py"


class ServerScript(Protocol):
    """The part of scripts/llama_server.py the fixture uses."""

    ServerError: type[Exception]

    def start(self, port: int = ...) -> str: ...

    def stop(self, port: int = ..., *, remove_log: bool = ...) -> bool: ...


def load_script() -> ServerScript:
    spec = importlib.util.spec_from_file_location("cascadeflow_llama_server_script", SCRIPT)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {SCRIPT}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return cast(ServerScript, module)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unavailable(reason: str) -> None:
    """Fail in CI, skip locally."""
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"llama.cpp server unavailable in CI: {reason}", pytrace=False)
    pytest.skip(f"llama.cpp server unavailable: {reason}")


@pytest.fixture(scope="session")
def llama_server_url() -> Iterator[str]:
    """Base URL (``…/v1``) of a running llama.cpp server that serves SmolLM2 under any model name."""
    given = os.environ.get(SERVER_URL_ENV, "").strip()
    if given:
        yield given.rstrip("/")
        return
    script = load_script()
    port = free_port()
    try:
        url = script.start(port)
    except (script.ServerError, OSError) as exc:
        unavailable(str(exc))
        return
    try:
        yield url
    finally:
        script.stop(port, remove_log=True)
