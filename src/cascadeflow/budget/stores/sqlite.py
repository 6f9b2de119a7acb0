"""SQLite ledger store (``sqlite:///path``): many processes on one machine share one file.

Every write is one ``BEGIN IMMEDIATE`` transaction, which takes SQLite's single write lock up front: the check
of committed + unexpired holds and the new hold happen with no other writer in between, in any process. WAL
mode lets readers (``usage``, ``records``) proceed meanwhile; ``synchronous=NORMAL`` survives a killed process
(a committed transaction is in the WAL before COMMIT returns).

Waiting for the write lock: the writers of one process take turns on a lock of their own (handing over at once),
and a writer that finds another process holding SQLite's lock retries after 0.1 ms, doubling to at most 2 ms,
until ``busy_timeout_s``. SQLite's own busy handler would sleep 1, 2, 5, … up to 100 ms between tries, which is
what made the tail: with 2 processes × 16 concurrent calls its p99 was ~200 ms and its worst ~1.2 s.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

from cascadeflow.budget.records import (
    BucketCheck,
    BucketRef,
    BucketState,
    LedgerRecord,
    ReserveOutcome,
    ReserveRequest,
    Settlement,
)
from cascadeflow.budget.stores.pool import ConnectionPool
from cascadeflow.budget.stores.protocol import GroupBy, decide_grant
from cascadeflow.errors import ConfigError

DEFAULT_PREFIX = "cascadeflow_"
DEFAULT_BUSY_TIMEOUT_S = 30.0
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")
_SCHEMA_ATTEMPTS = 20
_FIRST_RETRY_S = 0.0001  # another process holds the write lock: its transaction takes ~0.1-0.3 ms
_MAX_RETRY_S = 0.002  # ... or longer under load; never sleep long past its release

_SCHEMA = """
CREATE TABLE IF NOT EXISTS {p}buckets (
    account TEXT NOT NULL, window_key TEXT NOT NULL, committed INTEGER NOT NULL,
    PRIMARY KEY (account, window_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {p}holds (
    reservation_id TEXT NOT NULL, account TEXT NOT NULL, window_key TEXT NOT NULL,
    amount INTEGER NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (reservation_id, account, window_key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS {p}holds_bucket ON {p}holds (account, window_key, expires_at);
CREATE TABLE IF NOT EXISTS {p}records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, reservation_id TEXT NOT NULL UNIQUE, time TEXT NOT NULL,
    user_id TEXT NOT NULL, model TEXT NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cost_nanousd INTEGER NOT NULL, request_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS {p}records_user ON {p}records (user_id, seq);
"""


def check_prefix(prefix: str) -> str:
    if not _IDENTIFIER.fullmatch(prefix):
        raise ConfigError("prefix", f"table prefix must be a plain SQL identifier, got {prefix!r}")
    return prefix


class SqliteLedgerStore:
    """Ledger in one SQLite file; ``clock`` (seconds since the epoch) decides hold expiry on this machine."""

    blocking = True

    def __init__(
        self,
        path: str | Path,
        *,
        prefix: str = DEFAULT_PREFIX,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    ) -> None:
        self._path = str(path)
        self._p = check_prefix(prefix)
        self._clock = clock
        self._timeout = busy_timeout_s
        self._writer = threading.Lock()  # this process's writers take turns here, not in SQLite's busy handler
        self._pool: ConnectionPool[sqlite3.Connection] = ConnectionPool(self._connect, sqlite3.Connection.close)
        self._ensure_schema()

    def _connect(self) -> sqlite3.Connection:
        # No busy handler: BEGIN IMMEDIATE is retried by _begin with short sleeps (reads in WAL mode never wait).
        conn = sqlite3.connect(self._path, timeout=0.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _ensure_schema(self) -> None:
        for attempt in range(_SCHEMA_ATTEMPTS):
            try:
                with self._pool.connection() as conn:
                    conn.execute("PRAGMA journal_mode=WAL")
                with self._tx() as conn:
                    for statement in _SCHEMA.format(p=self._p).split(";"):
                        if statement.strip():
                            conn.execute(statement)
                return
            except sqlite3.OperationalError:
                if attempt == _SCHEMA_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    @contextmanager
    def _tx(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        if mode != "IMMEDIATE":  # a read: WAL readers never wait for the writer
            with self._pool.connection() as conn:
                yield from self._in_tx(conn, mode)
            return
        with self._writer, self._pool.connection() as conn:
            yield from self._in_tx(conn, mode)

    def _in_tx(self, conn: sqlite3.Connection, mode: str) -> Iterator[sqlite3.Connection]:
        self._begin(conn, mode)
        try:
            yield conn
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _begin(self, conn: sqlite3.Connection, mode: str) -> None:
        deadline = time.monotonic() + self._timeout
        pause = _FIRST_RETRY_S
        while True:
            try:
                conn.execute(f"BEGIN {mode}")
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, _MAX_RETRY_S)

    def _state(self, conn: sqlite3.Connection, check: BucketCheck, now: float) -> BucketState:
        b = check.bucket
        row = conn.execute(
            f"SELECT committed FROM {self._p}buckets WHERE account = ? AND window_key = ?", (b.account, b.window_key)
        ).fetchone()
        held = conn.execute(
            f"SELECT COALESCE(SUM(amount), 0) FROM {self._p}holds "
            "WHERE account = ? AND window_key = ? AND expires_at > ?",
            (b.account, b.window_key, now),
        ).fetchone()
        return BucketState(b, check.limit_units, int(row[0]) if row else 0, int(held[0]))

    def reserve(self, request: ReserveRequest) -> ReserveOutcome:
        with self._tx() as conn:
            now = self._clock()
            for check in request.checks:
                conn.execute(
                    f"DELETE FROM {self._p}holds WHERE account = ? AND window_key = ? AND expires_at <= ?",
                    (check.bucket.account, check.bucket.window_key, now),
                )
            outcome = decide_grant([self._state(conn, c, now) for c in request.checks], request)
            if outcome.granted:
                conn.executemany(
                    f"INSERT INTO {self._p}holds VALUES (?, ?, ?, ?, ?)",
                    [
                        (request.reservation_id, c.bucket.account, c.bucket.window_key, outcome.granted_units,
                         now + request.ttl_seconds)
                        for c in request.checks
                    ],
                )
            return outcome

    def commit(self, settlement: Settlement) -> bool:
        r = settlement.record
        with self._tx() as conn:
            fresh = conn.execute(
                f"INSERT INTO {self._p}records (reservation_id, time, user_id, model, input_tokens, output_tokens, "
                "cost_nanousd, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (reservation_id) DO NOTHING",
                (settlement.reservation_id, r.time.isoformat(), r.user_id, r.model, r.input_tokens,
                 r.output_tokens, r.cost_units, r.request_id),
            ).rowcount == 1
            if fresh:
                conn.executemany(
                    f"INSERT INTO {self._p}buckets VALUES (?, ?, ?) ON CONFLICT (account, window_key) "
                    "DO UPDATE SET committed = committed + excluded.committed",
                    [(b.account, b.window_key, r.cost_units) for b in settlement.credits],
                )
            conn.execute(f"DELETE FROM {self._p}holds WHERE reservation_id = ?", (settlement.reservation_id,))
            return fresh

    def release(self, reservation_id: str, held: Sequence[BucketRef]) -> None:
        with self._tx() as conn:
            conn.execute(f"DELETE FROM {self._p}holds WHERE reservation_id = ?", (reservation_id,))

    def usage(self, checks: Sequence[BucketCheck]) -> list[BucketState]:
        with self._tx("DEFERRED") as conn:
            now = self._clock()
            return [self._state(conn, c, now) for c in checks]

    def records(self, user_id: str | None = None) -> list[LedgerRecord]:
        sql = (
            f"SELECT time, user_id, model, input_tokens, output_tokens, cost_nanousd, request_id, reservation_id "
            f"FROM {self._p}records"
        )
        with self._pool.connection() as conn:
            if user_id is None:
                rows = conn.execute(sql + " ORDER BY seq").fetchall()
            else:
                rows = conn.execute(sql + " WHERE user_id = ? ORDER BY seq", (user_id,)).fetchall()
        return [
            LedgerRecord.from_units(
                time=datetime.fromisoformat(t), user_id=u, model=m, input_tokens=i, output_tokens=o,
                cost_units=c, request_id=q, reservation_id=rid,
            )
            for t, u, m, i, o, c, q, rid in rows
        ]

    def totals(self, by: GroupBy) -> dict[str, int]:
        column = "model" if by == "model" else "user_id"
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {column}, SUM(cost_nanousd) FROM {self._p}records GROUP BY {column}"
            ).fetchall()
        return {str(key): int(total) for key, total in rows}

    def close(self) -> None:
        self._pool.close()
