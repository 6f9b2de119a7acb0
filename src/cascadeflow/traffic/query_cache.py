"""``QueryCache``: an exact-match response cache in this process, LRU with a TTL, with hit/miss counters."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from cascadeflow.errors import ConfigError
from cascadeflow.traffic.cache_key import query_key, request_key
from cascadeflow.types import CompletionRequest


class CacheStats:
    """Hit and miss counters of one cache object (per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def count(self, hit: bool) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def as_dict(self) -> dict[str, Any]:
        total = self.hits + self.misses
        return {"hits": self.hits, "misses": self.misses, "hit_rate": self.hits / total * 100 if total else 0.0}


class QueryCache:
    """Up to ``max_size`` entries, each for ``ttl`` seconds; the least recently used entry goes first.

    ``get(query, **kwargs)`` / ``set(query, result, **kwargs)`` as in the production guide;
    ``get_request(model, request)`` / ``set_request(...)`` for model calls (keyed by model + normalised request).
    """

    blocking = False
    """In-process dictionary: safe to call on the event loop."""

    def __init__(self, ttl: float = 3600, max_size: int = 1000, *, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0 or max_size < 1:
            raise ConfigError("QueryCache", f"need ttl > 0 and max_size >= 1, got ttl={ttl!r}, max_size={max_size!r}")
        self.ttl = ttl
        self.max_size = max_size
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[Any, float]] = OrderedDict()
        self.stats = CacheStats()

    def get_key(self, key: str) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[1] > self._clock():
                self._entries.move_to_end(key)
                value: Any = entry[0]
            else:
                if entry is not None:
                    del self._entries[key]
                value = None
        self.stats.count(value is not None)
        return value

    def set_key(self, key: str, value: Any) -> None:
        with self._lock:
            self._entries[key] = (value, self._clock() + self.ttl)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def get(self, query: str, **kwargs: Any) -> Any | None:
        return self.get_key(query_key(query, kwargs))

    def set(self, query: str, result: Any, **kwargs: Any) -> None:
        self.set_key(query_key(query, kwargs), result)

    def get_request(self, model: str, request: CompletionRequest) -> Any | None:
        return self.get_key(request_key(model, request))

    def set_request(self, model: str, request: CompletionRequest, value: Any) -> None:
        self.set_key(request_key(model, request), value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get_stats(self) -> dict[str, Any]:
        """hits, misses, hit_rate (percent, as in the production guide) and current size."""
        with self._lock:
            size = len(self._entries)
        return {**self.stats.as_dict(), "size": size}
