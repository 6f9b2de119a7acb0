"""PostgreSQL ledger store (``postgresql://…``, psycopg 3): many processes on many machines share one ledger.

``reserve`` locks the user's bucket rows (``SELECT … FOR UPDATE`` in one sorted order, so two transactions
never deadlock), reads unexpired holds, and inserts its hold before committing; concurrent reservations for
the same user serialize on those rows, other users never wait. Hold expiry uses the server's clock.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC
from typing import TYPE_CHECKING, Any, TypeVar

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
from cascadeflow.budget.stores.sqlite import DEFAULT_PREFIX, check_prefix

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")
_RETRIES = 8
_RETRY_BASE_S = 0.01
_SCHEMA_LOCK_KEY = 0x63666C6F77  # "cflow": serializes CREATE TABLE IF NOT EXISTS across processes

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS {p}buckets (account TEXT NOT NULL, window_key TEXT NOT NULL, "
    "committed BIGINT NOT NULL, PRIMARY KEY (account, window_key))",
    "CREATE TABLE IF NOT EXISTS {p}holds (reservation_id TEXT NOT NULL, account TEXT NOT NULL, "
    "window_key TEXT NOT NULL, amount BIGINT NOT NULL, expires_at TIMESTAMPTZ NOT NULL, "
    "PRIMARY KEY (reservation_id, account, window_key))",
    "CREATE INDEX IF NOT EXISTS {p}holds_bucket ON {p}holds (account, window_key, expires_at)",
    "CREATE TABLE IF NOT EXISTS {p}records (seq BIGSERIAL PRIMARY KEY, reservation_id TEXT NOT NULL UNIQUE, "
    "time TIMESTAMPTZ NOT NULL, user_id TEXT NOT NULL, model TEXT NOT NULL, input_tokens BIGINT NOT NULL, "
    "output_tokens BIGINT NOT NULL, cost_nanousd BIGINT NOT NULL, request_id TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS {p}records_user ON {p}records (user_id, seq)",
)
_BUCKETS = "unnest(%s::text[], %s::text[]) AS t(a, w)"


def _columns(buckets: Sequence[BucketRef]) -> tuple[list[str], list[str]]:
    return [b.account for b in buckets], [b.window_key for b in buckets]


class PostgresLedgerStore:
    """Ledger in PostgreSQL tables named ``<prefix>buckets``, ``<prefix>holds``, ``<prefix>records``."""

    blocking = True

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("PostgreSQL ledgers need psycopg: pip install 'cascadeflow[postgres]'") from exc
        self._psycopg = psycopg
        self._url = url
        self._p = check_prefix(prefix)
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(self._connect, lambda c: c.close())
        self._retry(self._create_schema)

    def _connect(self) -> psycopg.Connection[Any]:
        return self._psycopg.connect(self._url, autocommit=True)

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection[Any]]:
        with self._pool.connection() as conn, conn.transaction():
            yield conn

    def _retry(self, operation: Callable[[], T]) -> T:
        """Deadlocks and serialization failures are retried: the transaction was rolled back, nothing happened."""
        errors = self._psycopg.errors
        for attempt in range(_RETRIES):
            try:
                return operation()
            except (errors.DeadlockDetected, errors.SerializationFailure):
                if attempt == _RETRIES - 1:
                    raise
                time.sleep(_RETRY_BASE_S * (2**attempt) * random.random())
        raise AssertionError("unreachable")

    def _create_schema(self) -> None:
        with self._tx() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
            for statement in _SCHEMA:
                conn.execute(statement.format(p=self._p))

    def _states(self, conn: psycopg.Connection[Any], checks: Sequence[BucketCheck], *, lock: bool) -> list[BucketState]:
        buckets = sorted({c.bucket for c in checks})
        if not buckets:
            return []
        cols = _columns(buckets)
        committed = {
            BucketRef(a, w): int(c)
            for a, w, c in conn.execute(
                f"SELECT b.account, b.window_key, b.committed FROM {self._p}buckets b JOIN {_BUCKETS} "
                f"ON b.account = t.a AND b.window_key = t.w ORDER BY b.account, b.window_key"
                + (" FOR UPDATE OF b" if lock else ""),
                cols,
            ).fetchall()
        }
        held = {
            BucketRef(a, w): int(h)
            for a, w, h in conn.execute(
                f"SELECT h.account, h.window_key, SUM(h.amount) FROM {self._p}holds h JOIN {_BUCKETS} "
                "ON h.account = t.a AND h.window_key = t.w WHERE h.expires_at > clock_timestamp() "
                "GROUP BY h.account, h.window_key",
                cols,
            ).fetchall()
        }
        return [BucketState(c.bucket, c.limit_units, committed.get(c.bucket, 0), held.get(c.bucket, 0)) for c in checks]

    def reserve(self, request: ReserveRequest) -> ReserveOutcome:
        return self._retry(lambda: self._reserve(request))

    def _reserve(self, request: ReserveRequest) -> ReserveOutcome:
        buckets = sorted({c.bucket for c in request.checks})
        cols = _columns(buckets)
        with self._tx() as conn:
            if buckets:
                conn.execute(
                    f"INSERT INTO {self._p}buckets (account, window_key, committed) SELECT a, w, 0 FROM {_BUCKETS} "
                    "ORDER BY a, w ON CONFLICT DO NOTHING",
                    cols,
                )
            states = self._states(conn, request.checks, lock=True)
            if buckets:
                conn.execute(
                    f"DELETE FROM {self._p}holds h USING {_BUCKETS} WHERE h.account = t.a AND h.window_key = t.w "
                    "AND h.expires_at <= clock_timestamp()",
                    cols,
                )
            outcome = decide_grant(states, request)
            if outcome.granted and buckets:
                conn.execute(
                    f"INSERT INTO {self._p}holds (reservation_id, account, window_key, amount, expires_at) "
                    f"SELECT %s, a, w, %s, clock_timestamp() + %s * interval '1 second' FROM {_BUCKETS}",
                    (request.reservation_id, outcome.granted_units, request.ttl_seconds, *cols),
                )
            return outcome

    def commit(self, settlement: Settlement) -> bool:
        return self._retry(lambda: self._commit(settlement))

    def _commit(self, settlement: Settlement) -> bool:
        r = settlement.record
        with self._tx() as conn:
            fresh = conn.execute(
                f"INSERT INTO {self._p}records (reservation_id, time, user_id, model, input_tokens, output_tokens, "
                "cost_nanousd, request_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (reservation_id) DO NOTHING RETURNING seq",
                (settlement.reservation_id, r.time, r.user_id, r.model, r.input_tokens, r.output_tokens,
                 r.cost_units, r.request_id),
            ).fetchone() is not None
            if fresh and settlement.credits:
                conn.execute(
                    f"INSERT INTO {self._p}buckets (account, window_key, committed) SELECT a, w, %s FROM {_BUCKETS} "
                    f"ORDER BY a, w ON CONFLICT (account, window_key) "
                    f"DO UPDATE SET committed = {self._p}buckets.committed + EXCLUDED.committed",
                    (r.cost_units, *_columns(sorted(set(settlement.credits)))),
                )
            conn.execute(f"DELETE FROM {self._p}holds WHERE reservation_id = %s", (settlement.reservation_id,))
            return fresh

    def release(self, reservation_id: str, held: Sequence[BucketRef]) -> None:
        def run() -> None:
            with self._tx() as conn:
                conn.execute(f"DELETE FROM {self._p}holds WHERE reservation_id = %s", (reservation_id,))

        self._retry(run)

    def usage(self, checks: Sequence[BucketCheck]) -> list[BucketState]:
        with self._tx() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return self._states(conn, checks, lock=False)

    def records(self, user_id: str | None = None) -> list[LedgerRecord]:
        sql = (
            "SELECT time, user_id, model, input_tokens, output_tokens, cost_nanousd, request_id, reservation_id "
            f"FROM {self._p}records"
        )
        with self._pool.connection() as conn:
            if user_id is None:
                rows = conn.execute(sql + " ORDER BY seq").fetchall()
            else:
                rows = conn.execute(sql + " WHERE user_id = %s ORDER BY seq", (user_id,)).fetchall()
        return [
            LedgerRecord.from_units(
                time=t.astimezone(UTC), user_id=u, model=m, input_tokens=int(i), output_tokens=int(o),
                cost_units=int(c), request_id=q, reservation_id=rid,
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
