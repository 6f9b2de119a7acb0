"""PostgreSQL shadow store (``postgresql://…``, psycopg 3): replicas on many machines share one table of
records (JSON text, ordered by a sequence) and one small state table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cascadeflow.budget.stores.pool import ConnectionPool
from cascadeflow.budget.stores.sqlite import check_prefix
from cascadeflow.shadow.stores.sql import SqlShadowStore

if TYPE_CHECKING:
    import psycopg

DEFAULT_PREFIX = "cascadeflow_shadow_"
_SCHEMA_LOCK_KEY = 0x63667368  # "cfsh": serializes CREATE TABLE IF NOT EXISTS across processes


class PostgresShadowStore(SqlShadowStore["psycopg.Connection[Any]"]):
    """Records in ``<prefix>records``, state in ``<prefix>state``."""

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        try:
            import psycopg as psycopg_module
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("PostgreSQL shadow stores need psycopg: pip install 'cascadeflow[postgres]'") from exc
        self._module = psycopg_module
        self._url = url
        super().__init__(ConnectionPool(self._connect, lambda c: c.close()), check_prefix(prefix), "%s")
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
            conn.execute(f"CREATE TABLE IF NOT EXISTS {self._p}records (seq BIGSERIAL PRIMARY KEY, "
                         "record_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL)")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {self._p}state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def _connect(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] = self._module.connect(self._url, autocommit=True)
        return conn
