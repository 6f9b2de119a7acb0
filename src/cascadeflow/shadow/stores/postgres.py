"""PostgreSQL shadow store (``postgresql://…``, psycopg 3): replicas on many machines share one table of
records (JSON text, ordered by a sequence) and one small state table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cascadeflow.budget.stores.pool import ConnectionPool
from cascadeflow.budget.stores.sqlite import check_prefix
from cascadeflow.shadow.records import ShadowRecord

if TYPE_CHECKING:
    import psycopg

DEFAULT_PREFIX = "cascadeflow_shadow_"
_SCHEMA_LOCK_KEY = 0x63667368  # "cfsh": serializes CREATE TABLE IF NOT EXISTS across processes


class PostgresShadowStore:
    """Records in ``<prefix>records``, state in ``<prefix>state``."""

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        try:
            import psycopg as psycopg_module
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("PostgreSQL shadow stores need psycopg: pip install 'cascadeflow[postgres]'") from exc
        self._module = psycopg_module
        self._url = url
        self._p = check_prefix(prefix)
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(self._connect, lambda c: c.close())
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
            conn.execute(f"CREATE TABLE IF NOT EXISTS {self._p}records (seq BIGSERIAL PRIMARY KEY, "
                         "record_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL)")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {self._p}state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def _connect(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] = self._module.connect(self._url, autocommit=True)
        return conn

    def append(self, record: ShadowRecord) -> None:
        with self._pool.connection() as conn:
            conn.execute(f"INSERT INTO {self._p}records (record_id, body) VALUES (%s, %s) "
                         "ON CONFLICT (record_id) DO NOTHING", (record.record_id, record.to_json()))

    def records(self, limit: int | None = None) -> list[ShadowRecord]:
        with self._pool.connection() as conn:
            if limit is None:
                rows = conn.execute(f"SELECT body FROM {self._p}records ORDER BY seq").fetchall()
            else:
                rows = conn.execute(f"SELECT body FROM (SELECT seq, body FROM {self._p}records ORDER BY seq DESC "
                                    "LIMIT %s) AS recent ORDER BY seq", (max(limit, 0),)).fetchall()
        return [ShadowRecord.from_json(row[0]) for row in rows]

    def count(self) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(f"SELECT COUNT(*) FROM {self._p}records").fetchone()
        return 0 if row is None else int(row[0])

    def save_state(self, key: str, value: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(f"INSERT INTO {self._p}state VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET "
                         "value = excluded.value", (key, value))

    def load_state(self, key: str) -> str | None:
        with self._pool.connection() as conn:
            row = conn.execute(f"SELECT value FROM {self._p}state WHERE key = %s", (key,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self._pool.close()
