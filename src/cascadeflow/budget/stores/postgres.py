"""PostgreSQL ledger store (``postgresql://…``, psycopg 3): many processes on many machines share one ledger.

``reserve`` is one call of a plpgsql function that locks the call's bucket rows (``FOR UPDATE``, always in
the same sorted order, so two transactions never deadlock), reads committed spending and unexpired holds, and
inserts its hold, all in one transaction: reservations of the same user serialize on those rows, other users
never wait. ``commit`` and ``usage`` are single statements. One round trip each; hold expiry uses the
server's clock.
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
from cascadeflow.budget.stores.protocol import GroupBy
from cascadeflow.budget.stores.sqlite import DEFAULT_PREFIX, check_prefix

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")
_RETRIES = 8
_RETRY_BASE_S = 0.01
_SCHEMA_LOCK_KEY = 0x63666C6F77  # "cflow": serializes CREATE TABLE IF NOT EXISTS across processes

# The whole admission in one server round trip. Each statement of a plpgsql function sees what committed before
# it started, so once the bucket rows are locked the reads below see every earlier settlement and hold.
RESERVE_FUNCTION = """
CREATE OR REPLACE FUNCTION {p}reserve(
    rid text, accts text[], wins text[], lims bigint[], want bigint, floor_units bigint, ttl double precision,
    enforce boolean, OUT granted bigint, OUT tight int, OUT t_committed bigint, OUT t_held bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    n int := coalesce(array_length(accts, 1), 0);
    c bigint;
    h bigint;
    avail bigint;
    best bigint := NULL;
BEGIN
    granted := want; tight := 0; t_committed := 0; t_held := 0;
    IF n = 0 THEN RETURN; END IF;
    INSERT INTO {p}buckets (account, window_key, committed)
        SELECT a, w, 0 FROM unnest(accts, wins) AS t(a, w) ORDER BY a, w ON CONFLICT DO NOTHING;
    PERFORM 1 FROM {p}buckets b JOIN unnest(accts, wins) AS t(a, w) ON b.account = t.a AND b.window_key = t.w
        ORDER BY b.account, b.window_key FOR UPDATE OF b;
    DELETE FROM {p}holds x USING unnest(accts, wins) AS t(a, w)
        WHERE x.account = t.a AND x.window_key = t.w AND x.expires_at <= clock_timestamp();
    FOR i IN 1..n LOOP
        SELECT committed INTO c FROM {p}buckets WHERE account = accts[i] AND window_key = wins[i];
        SELECT coalesce(sum(amount), 0) INTO h FROM {p}holds
            WHERE account = accts[i] AND window_key = wins[i] AND expires_at > clock_timestamp();
        IF lims[i] IS NOT NULL THEN
            avail := lims[i] - c - h;
            IF best IS NULL OR avail < best THEN
                best := avail; tight := i; t_committed := c; t_held := h;
            END IF;
        END IF;
    END LOOP;
    IF enforce AND best IS NOT NULL AND best < want THEN
        IF best < floor_units THEN granted := -1; RETURN; END IF;
        granted := best;
    END IF;
    INSERT INTO {p}holds (reservation_id, account, window_key, amount, expires_at)
        SELECT rid, a, w, granted, clock_timestamp() + ttl * interval '1 second' FROM unnest(accts, wins) AS t(a, w);
END
$fn$
"""

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
    RESERVE_FUNCTION,
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

    def reserve(self, request: ReserveRequest) -> ReserveOutcome:
        accounts, keys = _columns([c.bucket for c in request.checks])
        limits = [c.limit_units for c in request.checks]
        args = (request.reservation_id, accounts, keys, limits, request.want_units, request.at_least_units,
                request.ttl_seconds, request.enforce)

        def run() -> tuple[int, int, int, int]:
            with self._pool.connection() as conn:
                row = conn.execute(
                    f"SELECT * FROM {self._p}reserve(%s, %s::text[], %s::text[], %s::bigint[], %s, %s, %s, %s)", args
                ).fetchone()
            assert row is not None
            return int(row[0]), int(row[1]), int(row[2]), int(row[3])

        granted, tight, committed, held = self._retry(run)
        if granted >= 0:
            return ReserveOutcome(granted)
        check = request.checks[tight - 1]
        return ReserveOutcome(0, blocking=BucketState(check.bucket, check.limit_units, committed, held))

    def commit(self, settlement: Settlement) -> bool:
        """One statement (so one transaction): record once, credit in a fixed row order, drop the holds."""
        r = settlement.record
        accounts, keys = _columns(sorted(set(settlement.credits)))
        sql = (
            f"WITH rec AS (INSERT INTO {self._p}records (reservation_id, time, user_id, model, input_tokens, "
            "output_tokens, cost_nanousd, request_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (reservation_id) DO NOTHING RETURNING seq), "
            f"credit AS (INSERT INTO {self._p}buckets (account, window_key, committed) "
            f"SELECT a, w, %s FROM {_BUCKETS} WHERE EXISTS (SELECT 1 FROM rec) ORDER BY a, w "
            f"ON CONFLICT (account, window_key) DO UPDATE SET committed = {self._p}buckets.committed + "
            "EXCLUDED.committed RETURNING 1), "
            f"dropped AS (DELETE FROM {self._p}holds WHERE reservation_id = %s RETURNING 1) "
            "SELECT EXISTS (SELECT 1 FROM rec)"
        )
        args = (settlement.reservation_id, r.time, r.user_id, r.model, r.input_tokens, r.output_tokens,
                r.cost_units, r.request_id, r.cost_units, accounts, keys, settlement.reservation_id)

        def run() -> bool:
            with self._pool.connection() as conn:
                row = conn.execute(sql, args).fetchone()
            return bool(row and row[0])

        return self._retry(run)

    def release(self, reservation_id: str, held: Sequence[BucketRef]) -> None:
        def run() -> None:
            with self._pool.connection() as conn:
                conn.execute(f"DELETE FROM {self._p}holds WHERE reservation_id = %s", (reservation_id,))

        self._retry(run)

    def usage(self, checks: Sequence[BucketCheck]) -> list[BucketState]:
        """One statement, so committed and held come from the same snapshot."""
        if not checks:
            return []
        accounts, keys = _columns([c.bucket for c in checks])
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT COALESCE(b.committed, 0), (SELECT COALESCE(SUM(x.amount), 0) FROM {self._p}holds x "
                "WHERE x.account = t.a AND x.window_key = t.w AND x.expires_at > clock_timestamp()) "
                f"FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS t(a, w, i) "
                f"LEFT JOIN {self._p}buckets b ON b.account = t.a AND b.window_key = t.w ORDER BY t.i",
                (accounts, keys),
            ).fetchall()
        return [BucketState(c.bucket, c.limit_units, int(cm), int(h)) for c, (cm, h) in zip(checks, rows, strict=True)]

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
