"""``WindowRateLimiter``: requests, tokens and spend per window and key, in memory or shared through Redis.

Built on the ``limits`` library (sliding-window counter by default; fixed or moving window on request). Its
counters are integers, so USD limits are counted in micro-dollars. Every limit of a key is tested before any
is charged, so a refused call normally consumes nothing (two callers racing past the test may both charge:
that errs towards refusing, never towards letting more through).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from cascadeflow.errors import ConfigError, RateLimitExceededError
from cascadeflow.store_errors import driver_errors, store_unavailable

if TYPE_CHECKING:
    from limits import RateLimitItem

Per: TypeAlias = Literal["second", "minute", "hour", "day"]
Strategy: TypeAlias = Literal["sliding", "fixed", "moving"]
MICRO_PER_USD = 10**6
STRATEGIES: tuple[Strategy, ...] = ("sliding", "fixed", "moving")


@dataclass(frozen=True, slots=True)
class WindowLimit:
    """At most ``requests`` calls, ``tokens`` tokens and ``usd`` dollars per ``every`` × ``per``, per key."""

    requests: int | None = None
    tokens: int | None = None
    usd: Decimal | str | float | None = None
    per: Per = "minute"
    every: int = 1

    def __post_init__(self) -> None:
        if self.requests is None and self.tokens is None and self.usd is None:
            raise ConfigError("WindowLimit", "set at least one of requests, tokens, usd")
        for name in ("requests", "tokens"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"WindowLimit.{name}", f"must be a whole number >= 1, got {value!r}")
        if self.per not in ("second", "minute", "hour", "day") or self.every < 1:
            raise ConfigError("WindowLimit.per", f"per must be second/minute/hour/day, every >= 1; got {self.per!r}")

    def counters(self) -> list[tuple[str, int]]:
        """(counter name, integer amount) for each limit set; USD in micro-dollars, rounded down."""
        out: list[tuple[str, int]] = []
        if self.requests is not None:
            out.append(("requests", self.requests))
        if self.tokens is not None:
            out.append(("tokens", self.tokens))
        if self.usd is not None:
            amount = int((Decimal(str(self.usd)) * MICRO_PER_USD).to_integral_value(rounding=ROUND_FLOOR))
            if amount < 1:
                raise ConfigError("WindowLimit.usd", f"must be at least 0.000001, got {self.usd!r}")
            out.append(("usd", amount))
        return out


def _storage_uri(storage: str) -> tuple[str, dict[str, Any]]:
    if storage.startswith("memory://"):
        return "async+memory://", {}
    if storage.startswith(("redis://", "rediss://")):
        return f"async+{storage}", {"implementation": "redispy"}
    raise ConfigError("storage", "rate-limit storage must be memory:// or a redis:// URL")


class WindowRateLimiter:
    """Window limits per key (user, API key, tenant); with ``storage="redis://…"`` every replica shares them."""

    def __init__(
        self,
        *limits: WindowLimit,
        storage: str = "memory://",
        strategy: Strategy = "sliding",
        namespace: str = "cascadeflow",
    ) -> None:
        if not limits:
            raise ConfigError("WindowRateLimiter", "give at least one WindowLimit")
        if strategy not in STRATEGIES:
            raise ConfigError("strategy", f"must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
        try:
            import limits as limits_lib
            from limits.aio import strategies
            from limits.storage import storage_from_string
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("window rate limits need 'limits': pip install 'cascadeflow[traffic]'") from exc
        uri, options = _storage_uri(storage)
        self._kind = "redis" if storage.startswith(("redis://", "rediss://")) else "memory"
        by_name: dict[str, type[strategies.RateLimiter]] = {
            "sliding": strategies.SlidingWindowCounterRateLimiter,
            "fixed": strategies.FixedWindowRateLimiter,
            "moving": strategies.MovingWindowRateLimiter,
        }
        self._limiter = by_name[strategy](storage_from_string(uri, **options))
        per_class: dict[str, type[RateLimitItem]] = {
            "second": limits_lib.RateLimitItemPerSecond,
            "minute": limits_lib.RateLimitItemPerMinute,
            "hour": limits_lib.RateLimitItemPerHour,
            "day": limits_lib.RateLimitItemPerDay,
        }
        self._items: list[tuple[str, RateLimitItem, str]] = []
        for index, limit in enumerate(limits):
            for counter, amount in limit.counters():
                item = per_class[limit.per](amount, limit.every, namespace=f"{namespace}:{counter}:{index}")
                shown = f"{amount / MICRO_PER_USD:g} USD" if counter == "usd" else f"{amount} {counter}"
                self._items.append((counter, item, f"{shown} per {limit.every} {limit.per}"))

    def _costs(self, tokens: int, usd: Decimal | str | float) -> dict[str, int]:
        if tokens < 0:
            raise ConfigError("tokens", f"must be >= 0, got {tokens!r}")
        micro = int((Decimal(str(usd)) * MICRO_PER_USD).to_integral_value(rounding=ROUND_CEILING))
        return {"requests": 1, "tokens": tokens, "usd": max(0, micro)}

    async def hit(self, key: str, *, tokens: int = 0, usd: Decimal | str | float = 0) -> None:
        """Count one call of ``tokens`` tokens and ``usd`` dollars for ``key``, or raise RateLimitExceededError
        (:class:`~cascadeflow.errors.StoreUnavailableError` when the shared storage cannot be reached)."""
        try:
            await self._hit(key, self._costs(tokens, usd))
        except driver_errors() as exc:
            raise store_unavailable("rate-limit store", self._kind, "hit", exc) from exc

    async def _hit(self, key: str, costs: dict[str, int]) -> None:
        charges = [(item, costs[counter], shown) for counter, item, shown in self._items if costs[counter] > 0]
        for item, cost, shown in charges:
            if not await self._limiter.test(item, key, cost=cost):
                raise await self._exceeded(item, key, shown)
        for item, cost, shown in charges:
            if not await self._limiter.hit(item, key, cost=cost):
                raise await self._exceeded(item, key, shown)

    async def allowed(self, key: str, *, tokens: int = 0, usd: Decimal | str | float = 0) -> bool:
        """Whether :meth:`hit` would pass now (charges nothing)."""
        costs = self._costs(tokens, usd)
        for counter, item, _ in self._items:
            if costs[counter] > 0 and not await self._limiter.test(item, key, cost=costs[counter]):
                return False
        return True

    async def remaining(self, key: str) -> dict[str, int]:
        """What is left of each limit in the current window (USD in micro-dollars), keyed by its description."""
        out: dict[str, int] = {}
        for _, item, shown in self._items:
            out[shown] = (await self._limiter.get_window_stats(item, key)).remaining
        return out

    async def reset(self, key: str) -> None:
        for _, item, _ in self._items:
            await self._limiter.clear(item, key)

    async def _exceeded(self, item: RateLimitItem, key: str, shown: str) -> RateLimitExceededError:
        stats = await self._limiter.get_window_stats(item, key)
        wait = max(0.0, stats.reset_time - time.time())
        return RateLimitExceededError(
            f"rate limit {shown} reached for {key!r}; retry after {wait:.2f}s", key=key, limit=shown, retry_after=wait
        )
