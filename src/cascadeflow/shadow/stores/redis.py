"""Redis shadow store (``redis://…``): replicas on many machines append to one list; each record is one JSON
string, so an append is a single ``RPUSH`` and a read is one ``LRANGE``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cascadeflow.budget.stores.redis_connect import connect_redis
from cascadeflow.shadow.records import ShadowRecord

if TYPE_CHECKING:
    import redis

DEFAULT_NAMESPACE = "cascadeflow:shadow:"


class RedisShadowStore:
    """Records under ``<namespace>records`` (a list; their ids in the set ``<namespace>ids``), state under
    ``<namespace>state`` (a hash)."""

    def __init__(self, url_or_client: str | redis.Redis, *, namespace: str = DEFAULT_NAMESPACE) -> None:
        self._client, self._owns_client = connect_redis(url_or_client, "Redis shadow stores")
        self._records = f"{namespace}records"
        self._ids = f"{namespace}ids"
        self._state = f"{namespace}state"

    def append(self, record: ShadowRecord) -> None:
        # A record id seen before (a retried append) is not appended twice, as the SQL stores' unique key does.
        if self._client.sadd(self._ids, record.record_id):
            self._client.rpush(self._records, record.to_json())

    def records(self, limit: int | None = None) -> list[ShadowRecord]:
        if limit is not None and limit <= 0:
            return []
        raw: list[Any] = self._client.lrange(self._records, 0 if limit is None else -limit, -1)
        return [ShadowRecord.from_json(body) for body in raw]

    def count(self) -> int:
        return int(self._client.llen(self._records))

    def save_state(self, key: str, value: str) -> None:
        self._client.hset(self._state, key, value)

    def load_state(self, key: str) -> str | None:
        value: Any = self._client.hget(self._state, key)
        return None if value is None else value.decode() if isinstance(value, bytes) else str(value)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
