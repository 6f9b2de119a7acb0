"""What the SQLite and PostgreSQL shadow stores share: the same two tables and the same statements, which
differ only in the driver's parameter placeholder (``?`` or ``%s``). Each subclass creates its tables and
connections; everything read or written afterwards goes through here."""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

from cascadeflow.budget.stores.pool import ConnectionPool
from cascadeflow.shadow.records import ShadowRecord


class _Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class _Connection(Protocol):
    def execute(self, sql: Any, params: Any = ..., /) -> Any: ...


C = TypeVar("C", bound=_Connection)


class SqlShadowStore(Generic[C]):
    """Records in ``<prefix>records`` (one JSON text per row, ordered by ``seq``), state in ``<prefix>state``."""

    def __init__(self, pool: ConnectionPool[C], prefix: str, placeholder: str) -> None:
        self._pool = pool
        self._p = prefix
        self._ph = placeholder

    def append(self, record: ShadowRecord) -> None:
        # A record id seen before (a retried append) is not stored twice: the unique key drops it.
        with self._pool.connection() as conn:
            conn.execute(f"INSERT INTO {self._p}records (record_id, body) VALUES ({self._ph}, {self._ph}) "
                         "ON CONFLICT (record_id) DO NOTHING", (record.record_id, record.to_json()))

    def records(self, limit: int | None = None) -> list[ShadowRecord]:
        with self._pool.connection() as conn:
            if limit is None:
                rows = conn.execute(f"SELECT body FROM {self._p}records ORDER BY seq").fetchall()
            else:
                rows = conn.execute(f"SELECT body FROM (SELECT seq, body FROM {self._p}records ORDER BY seq DESC "
                                    f"LIMIT {self._ph}) AS recent ORDER BY seq", (max(limit, 0),)).fetchall()
        return [ShadowRecord.from_json(row[0]) for row in rows]

    def count(self) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(f"SELECT COUNT(*) FROM {self._p}records").fetchone()
        return 0 if row is None else int(row[0])

    def save_state(self, key: str, value: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(f"INSERT INTO {self._p}state VALUES ({self._ph}, {self._ph}) ON CONFLICT (key) DO UPDATE "
                         "SET value = excluded.value", (key, value))

    def load_state(self, key: str) -> str | None:
        with self._pool.connection() as conn:
            row = conn.execute(f"SELECT value FROM {self._p}state WHERE key = {self._ph}", (key,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self._pool.close()
