"""``RetryConfig``: the production guide's names for the retry policy every tier already has.

    RetryConfig(max_attempts=3, initial_delay=1.0, max_delay=60.0, exponential_base=2.0)

It is not a second retry implementation: :meth:`RetryConfig.policy` is a :class:`RetryPolicy`, the one policy
:func:`retry_call` runs, and it is applied in two places —

* per tier, inside the cascade: ``CascadeAgent(resilience=ResilienceLayer(retry=RetryConfig(...)))`` replaces
  each tier's ``ModelConfig.max_retries``-based policy (default: 2 retries, 0.5 s doubling to at most 8 s,
  because the next tier is a ready fallback and long waits only add latency);
* around a whole run: :func:`cascadeflow.production.execute_with_retry` retries ``agent.run`` when every tier
  failed transiently (the guide's defaults below: 3 attempts, 1 s doubling to at most 60 s).
"""

from __future__ import annotations

from dataclasses import dataclass

from cascadeflow.errors import ConfigError
from cascadeflow.resilience.retry import RetryPolicy
from cascadeflow.validate import check_int, check_number


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """How often and how patiently to try again. Defaults are the production guide's, for whole runs."""

    max_attempts: int = 3
    """Attempts in all, the first included (3 = the first try and two retries)."""
    initial_delay: float = 1.0
    """Seconds before the first retry: a whole run failing means every tier was down, so wait longer than one
    endpoint's 0.5 s blip allowance."""
    max_delay: float = 60.0
    """Cap on one wait; also the longest server-requested ``Retry-After`` honoured."""
    exponential_base: float = 2.0
    """Each wait is this many times the last, until ``max_delay``."""
    jitter: float = 0.25
    """Up to this fraction of random extra wait, so many clients do not retry in lockstep."""

    def __post_init__(self) -> None:
        check_int("RetryConfig.max_attempts", self.max_attempts, lo=1)
        check_number("RetryConfig.initial_delay", self.initial_delay)
        check_number("RetryConfig.max_delay", self.max_delay)
        check_number("RetryConfig.exponential_base", self.exponential_base, lo=1.0)
        check_number("RetryConfig.jitter", self.jitter, hi=1.0)
        if self.max_delay < self.initial_delay:
            raise ConfigError("RetryConfig.max_delay", f"must be >= initial_delay ({self.initial_delay}), "
                                                       f"got {self.max_delay}")

    @property
    def max_retries(self) -> int:
        return self.max_attempts - 1

    def policy(self) -> RetryPolicy:
        """The :class:`RetryPolicy` these settings describe (what the resilience layer and run retries use)."""
        return RetryPolicy(max_retries=self.max_retries, base_delay=self.initial_delay, max_delay=self.max_delay,
                           exponential_base=self.exponential_base, jitter=self.jitter,
                           max_retry_after=self.max_delay)
