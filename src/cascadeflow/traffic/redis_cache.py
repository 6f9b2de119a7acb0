"""``RedisCache``: the exact-match response cache shared by every process and replica through Redis."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cascadeflow.errors import ConfigError
from cascadeflow.traffic.cache_key import query_key, request_key
from cascadeflow.traffic.codec import Codec, JsonCodec
from cascadeflow.traffic.query_cache import CacheStats
from cascadeflow.types import CompletionRequest

if TYPE_CHECKING:
    import redis

DEFAULT_NAMESPACE = "cascadeflow:cache:"


class RedisCache:
    """Entries expire after ``ttl`` seconds (Redis evicts them; size is bounded by the server's maxmemory policy).

    Values go through ``codec`` (JSON by default, ``Completion`` kept whole). Hit/miss counters are per process.
    """

    blocking = True
    """Calls block on the network: async callers run them in a worker thread."""

    def __init__(
        self,
        redis_url: str = "redis://localhost:6379",
        ttl: int = 3600,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        codec: Codec | None = None,
        client: redis.Redis | None = None,
    ) -> None:
        if ttl < 1:
            raise ConfigError("RedisCache.ttl", f"must be >= 1 second, got {ttl!r}")
        if client is None:
            try:
                import redis as redis_module
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ImportError("RedisCache needs redis-py: pip install 'cascadeflow[redis]'") from exc
            client = redis_module.Redis.from_url(redis_url)
        self.redis = client
        self.ttl = ttl
        self.namespace = namespace
        self._codec = codec or JsonCodec()
        self.stats = CacheStats()

    def get_key(self, key: str) -> Any | None:
        raw = self.redis.get(key)
        self.stats.count(raw is not None)
        if raw is None:
            return None
        return self._codec.loads(raw if isinstance(raw, bytes) else str(raw).encode("utf-8"))

    def set_key(self, key: str, value: Any) -> None:
        self.redis.set(key, self._codec.dumps(value), ex=self.ttl)

    def get(self, query: str, **kwargs: Any) -> Any | None:
        return self.get_key(query_key(query, kwargs, namespace=self.namespace))

    def set(self, query: str, result: Any, **kwargs: Any) -> None:
        self.set_key(query_key(query, kwargs, namespace=self.namespace), result)

    def get_request(self, model: str, request: CompletionRequest) -> Any | None:
        return self.get_key(request_key(model, request, namespace=self.namespace))

    def set_request(self, model: str, request: CompletionRequest, value: Any) -> None:
        self.set_key(request_key(model, request, namespace=self.namespace), value)

    def get_stats(self) -> dict[str, Any]:
        return self.stats.as_dict()

    def close(self) -> None:
        self.redis.close()
