"""The gateway without HTTP: keys, per-key rate limits, the agents, metrics, health — one object to hold.

:func:`cascadeflow.server.create_app` serves it as an ASGI app; :mod:`cascadeflow.server.fastapi` hands its
pieces to a FastAPI application. Budgets are the agents' cost tracker (the key's id is the run's ``user_id``),
rate limits are :class:`~cascadeflow.traffic.WindowRateLimiter` windows keyed by the key's id — in Redis when
replicas must share them — so nothing here is a second implementation of either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from cascadeflow.errors import BudgetExceededError, ConfigError, RateLimitExceededError
from cascadeflow.server.errors import HttpError, forbidden_model, model_not_found, unauthorized
from cascadeflow.server.health import Health, dependency_checks
from cascadeflow.server.hooks import GatewayHooks
from cascadeflow.server.keys import KeyEntry, KeyRing
from cascadeflow.server.logs import AccessLog
from cascadeflow.server.metrics import GatewayMetrics
from cascadeflow.server.models import build_agent, build_tracker

if TYPE_CHECKING:
    from cascadeflow.agent import CascadeAgent
    from cascadeflow.server.config import GatewayConfig
    from cascadeflow.server.telemetry import Tracing
    from cascadeflow.traffic.window_limiter import WindowRateLimiter

RATE_NAMESPACE: Final = "cascadeflow-gateway"


class KeyLimits:
    """Requests per minute per key, one limiter per distinct limit, all on the configured storage."""

    def __init__(self, storage: str) -> None:
        self._storage = storage
        self._by_rpm: dict[int, WindowRateLimiter] = {}

    def _limiter(self, rpm: int) -> WindowRateLimiter:
        limiter = self._by_rpm.get(rpm)
        if limiter is None:
            from cascadeflow.traffic.window_limiter import WindowLimit, WindowRateLimiter

            limiter = WindowRateLimiter(WindowLimit(requests=rpm, per="minute"), storage=self._storage,
                                        namespace=RATE_NAMESPACE)
            self._by_rpm[rpm] = limiter
        return limiter

    async def hit(self, key: KeyEntry) -> None:
        """Count one request for ``key`` or raise :class:`RateLimitExceededError` (with retry_after)."""
        if key.rpm is not None:
            await self._limiter(key.rpm).hit(key.id)


class Gateway:
    """Everything a request needs, built once from a :class:`GatewayConfig`."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.settings = config.settings
        self.keys = KeyRing(config.keys)
        self.limits = KeyLimits(config.rate_limit_store)
        self.metrics = GatewayMetrics()
        self.tracker = build_tracker(config)
        hooks = (GatewayHooks(self.metrics),)
        self.agents: dict[str, CascadeAgent] = {m.name: build_agent(m, config, self.tracker, hooks)
                                                for m in config.models}
        self.access = AccessLog(enabled=config.settings.log_requests, bodies=config.settings.log_bodies)
        self.health = Health(dependency_checks(config.store, config.rate_limit_store),
                             cache_s=config.settings.health_cache_s)
        self.tracing: Tracing | None = None
        if config.settings.otel:
            from cascadeflow.server.telemetry import Tracing

            self.tracing = Tracing()
        self.in_flight = 0

    # ------------------------------------------------------------------ admission
    def authenticate(self, presented: str | None) -> KeyEntry:
        key = self.keys.authenticate(presented or "")
        if key is None:
            self.metrics.refusals.inc(("auth", ""))
            raise unauthorized()
        return key

    async def admit(self, key: KeyEntry) -> None:
        try:
            await self.limits.hit(key)
        except RateLimitExceededError:
            self.metrics.refusals.inc(("rate_limit", key.id))
            raise

    def agent(self, model: str, key: KeyEntry) -> CascadeAgent:
        agent = self.agents.get(model)
        if agent is None:
            raise model_not_found(model)
        if not key.may_use(model):
            raise forbidden_model(model)
        return agent

    def refused(self, exc: BaseException, key: KeyEntry) -> None:
        """Count a budget refusal that surfaced from a run."""
        if isinstance(exc, BudgetExceededError):
            self.metrics.refusals.inc(("budget", key.id))

    # ------------------------------------------------------------------ bookkeeping
    def started(self) -> None:
        self.in_flight += 1
        self.metrics.in_flight.set(self.in_flight)

    def finished(self) -> None:
        self.in_flight -= 1
        self.metrics.in_flight.set(self.in_flight)

    def models_list(self) -> dict[str, Any]:
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "cascadeflow"}
                                           for name in self.agents]}

    def start_draining(self) -> None:
        self.health.draining = True
        self.metrics.draining.set(1)

    async def aclose(self) -> None:
        for agent in self.agents.values():
            await agent.aclose()


def check_config(config: object) -> GatewayConfig:
    from cascadeflow.server.config import GatewayConfig

    if not isinstance(config, GatewayConfig):
        raise ConfigError("config", f"must be a GatewayConfig (GatewayConfig.load(path)), got {type(config).__name__}")
    return config


__all__ = ["Gateway", "HttpError", "KeyLimits", "check_config"]
