"""``/health`` (= ``/ready``) and ``/live``: is this process worth sending traffic to?

Ready means: not draining, and every shared dependency answers — the ledger store (Redis, PostgreSQL or the
SQLite file) and the rate-limit store (Redis). A replica that cannot reach them would refuse or mis-account every
request, so it reports 503 and the load balancer routes around it. Upstream model endpoints are *not* checked:
one slow vendor must not take every replica out of rotation (the cascade falls back per request instead).
Results are reused for ``server.health_cache_s`` so frequent probes cost the dependencies nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

CHECK_TIMEOUT_S: Final = 2.0
"""A dependency that does not answer a ping in 2 s is down for our purposes (probes time out at 1-5 s)."""
_OUR_OPTIONS: Final = frozenset({"namespace", "prefix"})


def _driver_url(url: str) -> str:
    """The URL without cascadeflow's own query options (namespace=, prefix=), as the driver expects it."""
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _OUR_OPTIONS])
    return urlunsplit(parts._replace(query=query))


def _redis_check(url: str) -> Callable[[], None]:
    holder: dict[str, Any] = {}

    def ping() -> None:
        import redis

        client = holder.get("client")
        if client is None:
            client = holder["client"] = redis.Redis.from_url(
                _driver_url(url), socket_timeout=CHECK_TIMEOUT_S, socket_connect_timeout=CHECK_TIMEOUT_S)
        client.ping()

    return ping


def _postgres_check(url: str) -> Callable[[], None]:
    def ping() -> None:
        import psycopg

        with psycopg.connect(_driver_url(url), connect_timeout=int(CHECK_TIMEOUT_S)) as conn:
            conn.execute("SELECT 1")

    return ping


def _sqlite_check(url: str) -> Callable[[], None]:
    path = url[len("sqlite:///"):].partition("?")[0]

    def ping() -> None:
        conn = sqlite3.connect(path, timeout=CHECK_TIMEOUT_S)
        try:
            conn.execute("SELECT 1")
        finally:
            conn.close()

    return ping


def dependency_checks(store: str, rate_limit_store: str) -> dict[str, Callable[[], None]]:
    """Name → blocking check (raises when the dependency is down) for each shared store in the config."""
    checks: dict[str, Callable[[], None]] = {}
    for name, url in (("store", store), ("rate_limit_store", rate_limit_store)):
        if url.startswith(("redis://", "rediss://", "unix://")):
            checks[name] = _redis_check(url)
        elif url.startswith(("postgresql://", "postgres://")):
            checks[name] = _postgres_check(url)
        elif url.startswith("sqlite:///"):
            checks[name] = _sqlite_check(url)
    return checks


@dataclass
class Health:
    checks: dict[str, Callable[[], None]]
    cache_s: float = 1.0
    draining: bool = False
    _last: tuple[float, dict[str, str]] | None = field(default=None, repr=False)
    _lock: asyncio.Lock | None = field(default=None, repr=False)

    async def failing(self) -> dict[str, str]:
        """Name → error type of each dependency that is down now (empty when all answer)."""
        if not self.checks:
            return {}
        now = time.monotonic()
        if self._last is not None and now - self._last[0] < self.cache_s:
            return self._last[1]
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # concurrent probes share one round of checks
            if self._last is not None and time.monotonic() - self._last[0] < self.cache_s:
                return self._last[1]
            results = await asyncio.gather(*(self._run(check) for check in self.checks.values()))
            failing = {name: err for name, err in zip(self.checks, results, strict=True) if err}
            self._last = (time.monotonic(), failing)
            return failing

    @staticmethod
    async def _run(check: Callable[[], None]) -> str:
        try:
            await asyncio.wait_for(asyncio.to_thread(check), CHECK_TIMEOUT_S)
        except Exception as exc:  # any failure of a dependency check means "down", whatever the driver raised
            return type(exc).__name__
        return ""

    async def report(self) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) for /health and /ready."""
        if self.draining:
            return 503, {"status": "draining"}
        failing = await self.failing()
        if failing:
            return 503, {"status": "unavailable", "failing": failing}
        return 200, {"status": "ok"}
