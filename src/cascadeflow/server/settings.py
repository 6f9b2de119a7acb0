"""The ``server:``, ``logging:`` and ``telemetry:`` sections of the gateway config, each default with its reason.

    server:    {host: 0.0.0.0, port: 8000, workers: 1, max_body_bytes: 4194304, drain_grace_s: 5,
                drain_timeout_s: 30, keep_alive_s: 75, backlog: 2048, upstream_client: fast, health_cache_s: 1}
    logging:   {level: info, requests: true, bodies: false}
    telemetry: {otel: false}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any, Final

from cascadeflow.errors import ConfigError
from cascadeflow.validate import check_int, check_number

LOG_LEVELS: Final = ("debug", "info", "warning", "error")
UPSTREAM_CLIENTS: Final = ("fast", "httpx")
MAX_PORT: Final = 65535
MAX_WORKERS: Final = 64
MAX_WAIT_S: Final = 3600.0


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    """Loopback by default: exposing the gateway is a decision (``--host 0.0.0.0`` in containers)."""
    port: int = 8000
    workers: int = 1
    """One process per container; scale out with replicas (each has its own /metrics)."""
    max_body_bytes: int = 4 * 1024 * 1024
    """4 MiB holds a long conversation with tool schemas; larger bodies are refused with 413 before parsing."""
    drain_grace_s: float = 5.0
    """After SIGTERM, /health answers 503 but requests are still served this long, so a load balancer (or a
    Kubernetes Service) stops routing here before the listener closes."""
    drain_timeout_s: float = 30.0
    """Then in-flight requests and streams get this long to finish (Kubernetes' default termination grace is 30 s
    in total: raise ``terminationGracePeriodSeconds`` with it)."""
    keep_alive_s: int = 75
    """Idle keep-alive connections stay open longer than typical load balancers' 60 s idle timeout, so the
    balancer (not the gateway) closes them and never sends into a closing connection."""
    backlog: int = 2048
    """A short listen backlog turns bursts of connections into multi-second tails (the reference gateway's
    backlog of 5 did); 2048 is Linux's usual somaxconn ceiling."""
    upstream_client: str = "fast"
    """``fast``: the gateway's own keep-alive HTTP/1.1 client for OpenAI-compatible upstreams (~10x less CPU per
    call than httpx); ``httpx``: the library's providers (HTTP proxies from the environment, HTTP/2)."""
    health_cache_s: float = 1.0
    """Dependency checks behind /health are reused for a second: probes every few seconds stay cheap for Redis
    and Postgres, and an outage still shows within one probe period."""
    log_level: str = "info"
    log_requests: bool = True
    """One JSON line per request (request id, key id, model, status, time, cost) — never the key or a body."""
    log_bodies: bool = False
    """Also log request messages and answers: off, because they may carry personal data."""
    otel: bool = False
    """OpenTelemetry GenAI spans (needs the ``otel`` extra and an SDK configured by the application)."""


_SECTIONS: Final = MappingProxyType({
    "server": ("host", "port", "workers", "max_body_bytes", "drain_grace_s", "drain_timeout_s", "keep_alive_s",
               "backlog", "upstream_client", "health_cache_s"),
    "logging": ("level", "requests", "bodies"),
    "telemetry": ("otel",),
})
_RENAMED: Final[Mapping[tuple[str, str], str]] = MappingProxyType({
    ("logging", "level"): "log_level", ("logging", "requests"): "log_requests", ("logging", "bodies"): "log_bodies",
})


def _check(field: str, where: str, value: Any) -> None:
    if field == "host":
        if not isinstance(value, str) or not value or any(c.isspace() for c in value):
            raise ConfigError(where, f"must be a host name or address, got {value!r}")
    elif field == "port":
        check_int(where, value, lo=0, hi=MAX_PORT)
    elif field == "workers":
        check_int(where, value, lo=1, hi=MAX_WORKERS)
    elif field in ("max_body_bytes", "backlog", "keep_alive_s"):
        check_int(where, value, lo=1)
    elif field in ("drain_grace_s", "drain_timeout_s", "health_cache_s"):
        check_number(where, value, hi=MAX_WAIT_S)
    elif field == "upstream_client":
        if value not in UPSTREAM_CLIENTS:
            raise ConfigError(where, f"must be one of {list(UPSTREAM_CLIENTS)}, got {value!r}")
    elif field == "log_level":
        if value not in LOG_LEVELS:
            raise ConfigError(where, f"must be one of {list(LOG_LEVELS)}, got {value!r}")
    elif not isinstance(value, bool):
        raise ConfigError(where, f"must be true or false, got {value!r}")


def parse_settings(server: object, logging: object, telemetry: object) -> ServerSettings:
    values: dict[str, Any] = {}
    for section, raw in (("server", server), ("logging", logging), ("telemetry", telemetry)):
        if raw is None:
            continue
        if not isinstance(raw, Mapping):
            raise ConfigError(section, f"must be a mapping, got {type(raw).__name__}")
        allowed = _SECTIONS[section]
        for key, value in raw.items():
            if key not in allowed:
                raise ConfigError(f"{section}.{key}", f"unknown setting; use {list(allowed)}")
            field: str = _RENAMED.get((section, str(key)), str(key))
            _check(field, f"{section}.{key}", value)
            values[field] = value
    return ServerSettings(**values)


def with_overrides(settings: ServerSettings, **changes: Any) -> ServerSettings:
    """Command-line flags over the file (``--host``, ``--port``, ``--workers``), checked the same way."""
    known = {f.name for f in fields(ServerSettings)}
    values = {f.name: getattr(settings, f.name) for f in fields(ServerSettings)}
    for name, value in changes.items():
        if value is None:
            continue
        if name not in known:
            raise ConfigError(name, "unknown server setting")
        _check(name, f"--{name}", value)
        values[name] = value
    return ServerSettings(**values)
