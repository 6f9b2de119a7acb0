"""Traffic control: rate limits (token bucket, per user, adaptive, windows shared through Redis) and
exact-match response caches (in memory, Redis). Names load lazily; ``limits`` and ``redis`` only when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

_EXPORTS: Mapping[str, str] = MappingProxyType({
    "AdaptiveRateLimiter": "cascadeflow.traffic.adaptive",
    "JsonCodec": "cascadeflow.traffic.codec",
    "MultiUserRateLimiter": "cascadeflow.traffic.multi_user",
    "QueryCache": "cascadeflow.traffic.query_cache",
    "RateLimiter": "cascadeflow.traffic.token_bucket",
    "RedisCache": "cascadeflow.traffic.redis_cache",
    "WindowLimit": "cascadeflow.traffic.window_limiter",
    "WindowRateLimiter": "cascadeflow.traffic.window_limiter",
    "query_key": "cascadeflow.traffic.cache_key",
    "request_key": "cascadeflow.traffic.cache_key",
})

__all__ = [
    "AdaptiveRateLimiter",
    "JsonCodec",
    "MultiUserRateLimiter",
    "QueryCache",
    "RateLimiter",
    "RedisCache",
    "WindowLimit",
    "WindowRateLimiter",
    "query_key",
    "request_key",
]

if TYPE_CHECKING:
    from cascadeflow.traffic.adaptive import AdaptiveRateLimiter
    from cascadeflow.traffic.cache_key import query_key, request_key
    from cascadeflow.traffic.codec import JsonCodec
    from cascadeflow.traffic.multi_user import MultiUserRateLimiter
    from cascadeflow.traffic.query_cache import QueryCache
    from cascadeflow.traffic.redis_cache import RedisCache
    from cascadeflow.traffic.token_bucket import RateLimiter
    from cascadeflow.traffic.window_limiter import WindowLimit, WindowRateLimiter


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cascadeflow.traffic' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
