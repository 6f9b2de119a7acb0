"""SQLite shadow store (``sqlite:///path``, the default for a persistent store): the processes of one machine
share one file, and a restarted process resumes from its records instead of learning again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cascadeflow.budget.stores.pool import ConnectionPool
from cascadeflow.budget.stores.sqlite import check_prefix
from cascadeflow.shadow.records import ShadowRecord

DEFAULT_PREFIX = "cascadeflow_shadow_"
_BUSY_TIMEOUT_S = 30.0


class SqliteShadowStore:
    """Records in ``<prefix>records`` (one JSON text per row), state in ``<prefix>state``."""

    def __init__(self, path: str | Path, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._path = str(path)
        self._p = check_prefix(prefix)
        self._pool: ConnectionPool[sqlite3.Connection] = ConnectionPool(self._connect, sqlite3.Connection.close)
        with self._pool.connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {self._p}records (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                         "record_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL)")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {self._p}state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def append(self, record: ShadowRecord) -> None:
        with self._pool.connection() as conn:
            conn.execute(f"INSERT INTO {self._p}records (record_id, body) VALUES (?, ?) "
                         "ON CONFLICT (record_id) DO NOTHING", (record.record_id, record.to_json()))

    def records(self, limit: int | None = None) -> list[ShadowRecord]:
        with self._pool.connection() as conn:
            if limit is None:
                rows = conn.execute(f"SELECT body FROM {self._p}records ORDER BY seq").fetchall()
            else:
                rows = conn.execute(f"SELECT body FROM (SELECT seq, body FROM {self._p}records ORDER BY seq DESC "
                                    "LIMIT ?) ORDER BY seq", (max(limit, 0),)).fetchall()
        return [ShadowRecord.from_json(body) for (body,) in rows]

    def count(self) -> int:
        with self._pool.connection() as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {self._p}records").fetchone()[0])

    def save_state(self, key: str, value: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(f"INSERT INTO {self._p}state VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                         "value = excluded.value", (key, value))

    def load_state(self, key: str) -> str | None:
        with self._pool.connection() as conn:
            row = conn.execute(f"SELECT value FROM {self._p}state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self._pool.close()
