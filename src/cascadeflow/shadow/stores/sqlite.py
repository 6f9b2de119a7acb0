"""SQLite shadow store (``sqlite:///path``, the default for a persistent store): the processes of one machine
share one file, and a restarted process resumes from its records instead of learning again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cascadeflow.budget.stores.pool import ConnectionPool
from cascadeflow.budget.stores.sqlite import check_prefix
from cascadeflow.shadow.stores.sql import SqlShadowStore

DEFAULT_PREFIX = "cascadeflow_shadow_"
_BUSY_TIMEOUT_S = 30.0


class SqliteShadowStore(SqlShadowStore[sqlite3.Connection]):
    """Records in ``<prefix>records`` (one JSON text per row), state in ``<prefix>state``."""

    def __init__(self, path: str | Path, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._path = str(path)
        super().__init__(ConnectionPool(self._connect, sqlite3.Connection.close), check_prefix(prefix), "?")
        with self._pool.connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {self._p}records (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                         "record_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL)")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {self._p}state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn
