"""The production guide's patterns as library calls, over the machinery every agent already has.

    from cascadeflow.production import (ErrorClassifier, HealthMonitor, RetryConfig, execute_with_retry,
                                        health_check, query_with_fallback)

Nothing here re-implements resilience: :class:`RetryConfig` describes the one :class:`RetryPolicy`,
:func:`execute_with_retry` runs it with :func:`~cascadeflow.resilience.retry.retry_call`, the classifier reads the
typed error tree, and :class:`HealthMonitor` reads the call records (:class:`~cascadeflow.StepRecord`) every run
already produces. Names load lazily (PEP 562).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

_EXPORTS: Mapping[str, str] = MappingProxyType({
    "CircuitBreaker": "cascadeflow.resilience.breaker",
    "ErrorClassifier": "cascadeflow.production.classify",
    "HealthMonitor": "cascadeflow.production.health",
    "HealthThresholds": "cascadeflow.production.health",
    "RetryConfig": "cascadeflow.resilience.retry_config",
    "execute_with_retry": "cascadeflow.production.run_retry",
    "health_check": "cascadeflow.production.health",
    "query_with_fallback": "cascadeflow.production.run_retry",
})

__all__ = [
    "CircuitBreaker",
    "ErrorClassifier",
    "HealthMonitor",
    "HealthThresholds",
    "RetryConfig",
    "execute_with_retry",
    "health_check",
    "query_with_fallback",
]

if TYPE_CHECKING:
    from cascadeflow.production.classify import ErrorClassifier
    from cascadeflow.production.health import HealthMonitor, HealthThresholds, health_check
    from cascadeflow.production.run_retry import execute_with_retry, query_with_fallback
    from cascadeflow.resilience.breaker import CircuitBreaker
    from cascadeflow.resilience.retry_config import RetryConfig


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cascadeflow.production' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
