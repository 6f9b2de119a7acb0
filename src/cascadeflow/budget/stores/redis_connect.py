"""One way to get a Redis client for the stores that keep state in Redis (ledgers, shadow records): from a URL
(we own the client and close it) or a ready ``redis.Redis`` (the caller's: never closed by us). redis-py is an
optional extra, imported only here and only when a Redis store is built."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis


def connect_redis(url_or_client: str | redis.Redis, needed_for: str) -> tuple[redis.Redis, bool]:
    """``(client, owned)``; ``needed_for`` names the feature in the ImportError when redis-py is missing."""
    try:
        import redis as redis_module
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"{needed_for} need redis-py: pip install 'cascadeflow[redis]'") from exc
    if isinstance(url_or_client, str):
        return redis_module.Redis.from_url(url_or_client), True
    return url_or_client, False
