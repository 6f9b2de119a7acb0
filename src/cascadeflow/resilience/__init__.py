"""Production resilience: retry with backoff, per-endpoint circuit breakers, and the provider wrapper that
applies them (plus a timeout) around any :class:`~cascadeflow.providers.protocol.Provider`.

Names load lazily (PEP 562): importing the breaker alone does not pull in tenacity.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

_EXPORTS: Mapping[str, str] = MappingProxyType({
    "BreakerConfig": "cascadeflow.resilience.breaker",
    "CircuitBreaker": "cascadeflow.resilience.breaker",
    "ResilientProvider": "cascadeflow.resilience.provider",
    "ResilienceLayer": "cascadeflow.resilience.provider",
    "RetryConfig": "cascadeflow.resilience.retry_config",
    "RetryPolicy": "cascadeflow.resilience.retry",
    "retry_call": "cascadeflow.resilience.retry",
    "wrap_resilient": "cascadeflow.resilience.provider",
})

__all__ = [
    "BreakerConfig",
    "CircuitBreaker",
    "ResilienceLayer",
    "ResilientProvider",
    "RetryConfig",
    "RetryPolicy",
    "retry_call",
    "wrap_resilient",
]

if TYPE_CHECKING:
    from cascadeflow.resilience.breaker import BreakerConfig, CircuitBreaker
    from cascadeflow.resilience.provider import ResilienceLayer, ResilientProvider, wrap_resilient
    from cascadeflow.resilience.retry import RetryPolicy, retry_call
    from cascadeflow.resilience.retry_config import RetryConfig


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cascadeflow.resilience' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
