"""A circuit breaker per model endpoint: stop calling an endpoint that keeps failing, probe it later.

closed ──N consecutive failures──▶ open ──cool-down elapsed──▶ half-open (one trial call)
half-open ──trial succeeds──▶ closed;  half-open ──trial fails──▶ open (a new cool-down)

While open, calls fail at once with :class:`~cascadeflow.errors.CircuitOpenError`, so the cascade falls back to
the next tier in microseconds instead of waiting for timeouts. The clock is injected: tests never wait.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, TypeVar

from cascadeflow.errors import CircuitOpenError, ConfigError

BreakerState: TypeAlias = Literal["closed", "open", "half_open"]
Clock = Callable[[], float]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """When to open and how long to stay open."""

    failure_threshold: int = 5
    """Consecutive transient failures that open the circuit: a few in a row means the endpoint is down, not
    unlucky (single 5xx blips are the retry policy's job)."""
    cooldown_s: float = 30.0
    """Seconds to stay open before one trial call: long enough for a restart or a rate window to pass."""

    def __post_init__(self) -> None:
        threshold = self.failure_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
            raise ConfigError("BreakerConfig.failure_threshold", f"must be an integer >= 1, got {threshold!r}")
        if not isinstance(self.cooldown_s, int | float) or self.cooldown_s < 0:
            raise ConfigError("BreakerConfig.cooldown_s", f"must be a number >= 0, got {self.cooldown_s!r}")


class CircuitBreaker:
    """State machine for one endpoint. Call :meth:`acquire` before a call, then exactly one of
    :meth:`record_success`, :meth:`record_failure` or :meth:`release` (call abandoned) after it — or let
    :meth:`call` do all of that around any awaitable function (the production guide's
    ``CircuitBreaker(failure_threshold=5, recovery_timeout=60.0).call(agent.run, query)``).

    ``failure_threshold`` / ``recovery_timeout`` (seconds) are the guide's names for
    :class:`BreakerConfig`'s ``failure_threshold`` / ``cooldown_s``; ``expected_exception`` says which errors
    :meth:`call` counts as failures (others pass through without touching the state). Every tier of an agent
    already has a breaker of its own (30 s cool-down); this one guards whatever you wrap.
    """

    def __init__(
        self,
        config: BreakerConfig | None = None,
        *,
        failure_threshold: int | None = None,
        recovery_timeout: float | None = None,
        expected_exception: type[BaseException] | tuple[type[BaseException], ...] = Exception,
        name: str = "",
        provider: str = "",
        clock: Clock = time.monotonic,
    ) -> None:
        config = config or BreakerConfig()
        if failure_threshold is not None or recovery_timeout is not None:
            config = BreakerConfig(
                failure_threshold=config.failure_threshold if failure_threshold is None else failure_threshold,
                cooldown_s=config.cooldown_s if recovery_timeout is None else recovery_timeout,
            )
        self.config = config
        self.expected_exception = expected_exception
        self.name = name
        self.provider = provider
        self._clock = clock
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        """The current state; an open circuit whose cool-down has passed reports ``half_open``."""
        if self._state == "open" and self._clock() - self._opened_at >= self.config.cooldown_s:
            self._state = "half_open"
            self._trial_in_flight = False
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def acquire(self) -> None:
        """Allow a call, or raise :class:`CircuitOpenError`. Half-open lets exactly one trial call through."""
        state = self.state
        if state == "closed":
            return
        if state == "half_open" and not self._trial_in_flight:
            self._trial_in_flight = True
            return
        remaining = max(0.0, self.config.cooldown_s - (self._clock() - self._opened_at))
        why = "a trial call is in flight" if state == "half_open" else f"retry in {remaining:.1f}s"
        raise CircuitOpenError(
            f"circuit open after {self._failures} consecutive failures; not calling ({why})",
            model=self.name,
            provider=self.provider,
        )

    def record_success(self) -> None:
        self._state = "closed"
        self._failures = 0
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._state == "half_open" or self._failures >= self.config.failure_threshold:
            self._state = "open"
            self._opened_at = self._clock()
        self._trial_in_flight = False

    def release(self) -> None:
        """The call ended without telling us anything (cancelled): free the half-open trial slot."""
        self._trial_in_flight = False

    @property
    def failure_threshold(self) -> int:
        return self.config.failure_threshold

    @property
    def recovery_timeout(self) -> float:
        return self.config.cooldown_s

    @property
    def failure_count(self) -> int:
        return self._failures

    def is_open(self) -> bool:
        """True while calls are refused (open and cooling down; a half-open breaker lets a trial through)."""
        return self.state == "open"

    async def call(self, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Await ``func(*args, **kwargs)`` through the breaker: refused with :class:`CircuitOpenError` while
        open; an ``expected_exception`` counts as a failure, a success closes the circuit."""
        self.acquire()
        try:
            result = await func(*args, **kwargs)
        except self.expected_exception:
            self.record_failure()
            raise
        except BaseException:
            self.release()
            raise
        self.record_success()
        return result
