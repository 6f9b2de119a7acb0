"""Shared test setup. The autouse guard fails any test that tries to reach a non-loopback address; the
``redis_url`` / ``postgres_url`` fixtures hand out the real servers scripts/services.sh started."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo

_LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})


def _is_local(address: Any) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX path
        return True
    host = str(address[0])
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NetworkAccessError(RuntimeError):
    """Raised when a test tries to reach the real network."""


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not _is_local(address):
        raise NetworkAccessError(f"test tried to reach the network: {address!r}")
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if not _is_local(address):
        raise NetworkAccessError(f"test tried to reach the network: {address!r}")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and str(host) not in _LOCAL_NAMES and not _is_local((host, 0)):
        raise NetworkAccessError(f"test tried to resolve a network host: {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def _private_price_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Catalogue prices are remembered on disk; tests use their own cache, never the user's."""
    import os

    old = os.environ.get("CASCADEFLOW_PRICE_CACHE")
    os.environ["CASCADEFLOW_PRICE_CACHE"] = str(tmp_path_factory.mktemp("prices"))
    yield
    if old is None:
        os.environ.pop("CASCADEFLOW_PRICE_CACHE", None)
    else:
        os.environ["CASCADEFLOW_PRICE_CACHE"] = old


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    yield


# --------------------------------------------------------------------------------------------------------------
# Real Redis and PostgreSQL (started by scripts/services.sh; URLs from the environment or .cache/services.env).

SERVICES_ENV_FILE = Path(__file__).resolve().parents[1] / ".cache" / "services.env"
REDIS_URL_ENV = "CASCADEFLOW_TEST_REDIS_URL"
POSTGRES_URL_ENV = "CASCADEFLOW_TEST_POSTGRES_URL"


def service_url(name: str) -> str:
    """The URL from the environment, else from the file scripts/services.sh writes; '' when neither has it."""
    given = os.environ.get(name, "").strip()
    if given:
        return given
    if SERVICES_ENV_FILE.exists():
        for line in SERVICES_ENV_FILE.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == name:
                return value.strip()
    return ""


def service_unavailable(what: str, reason: str) -> None:
    """Fail under CI=true (a silent skip would hide a broken pipeline), skip on a developer machine."""
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{what} unavailable in CI: {reason}", pytrace=False)
    pytest.skip(f"{what} unavailable ({reason}); run scripts/services.sh")


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = service_url(REDIS_URL_ENV)
    if not url:
        service_unavailable("Redis", f"{REDIS_URL_ENV} not set")
    try:
        import redis
    except ImportError:
        service_unavailable("Redis", "redis-py not installed (extra 'redis')")
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        service_unavailable("Redis", f"no answer: {type(exc).__name__}")
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = service_url(POSTGRES_URL_ENV)
    if not url:
        service_unavailable("PostgreSQL", f"{POSTGRES_URL_ENV} not set")
    try:
        import psycopg
    except ImportError:
        service_unavailable("PostgreSQL", "psycopg not installed (extra 'postgres')")
    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.Error as exc:
        service_unavailable("PostgreSQL", f"no answer: {type(exc).__name__}")
    return url
