"""Export settled records as JSON, CSV, SQLite or Parquet: the same columns and values in every format.

Columns: ``time`` (ISO 8601, UTC), ``user_id``, ``model``, ``input_tokens``, ``output_tokens``, ``cost_usd``
(exact decimal: a string in JSON/CSV/SQLite, ``decimal128(38, 9)`` in Parquet), ``request_id``. Files are
written to a temporary name and renamed, so a reader never sees half an export.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cascadeflow.budget.records import LedgerRecord

COLUMNS: tuple[str, ...] = ("time", "user_id", "model", "input_tokens", "output_tokens", "cost_usd", "request_id")
SQLITE_TABLE = "cost_records"


def row(record: LedgerRecord) -> dict[str, Any]:
    """One record as an export row (the shared shape of every format)."""
    return {
        "time": record.time.isoformat(),
        "user_id": record.user_id,
        "model": record.model,
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "cost_usd": str(record.cost),
        "request_id": record.request_id,
    }


def _temp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_json(records: Sequence[LedgerRecord], path: Path) -> int:
    tmp = _temp(path)
    tmp.write_text(json.dumps([row(r) for r in records], indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return len(records)


def write_csv(records: Sequence[LedgerRecord], path: Path) -> int:
    tmp = _temp(path)
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(row(r) for r in records)
    tmp.replace(path)
    return len(records)


def write_sqlite(records: Sequence[LedgerRecord], path: Path) -> int:
    """A ``cost_records`` table (replaced if present). ``cost_usd`` is TEXT so no digit is lost."""
    tmp = _temp(path)
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    try:
        conn.execute(
            f"CREATE TABLE {SQLITE_TABLE} (time TEXT NOT NULL, user_id TEXT NOT NULL, model TEXT NOT NULL, "
            "input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost_usd TEXT NOT NULL, "
            "request_id TEXT NOT NULL)"
        )
        conn.executemany(
            f"INSERT INTO {SQLITE_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
            [tuple(row(r)[c] for c in COLUMNS) for r in records],
        )
        conn.commit()
    finally:
        conn.close()
    tmp.replace(path)
    return len(records)


def write_parquet(records: Sequence[LedgerRecord], path: Path) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ImportError("Parquet export needs pyarrow: pip install pyarrow") from exc
    schema = pa.schema([
        ("time", pa.timestamp("us", tz="UTC")),
        ("user_id", pa.string()),
        ("model", pa.string()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("cost_usd", pa.decimal128(38, 9)),
        ("request_id", pa.string()),
    ])
    columns = {
        "time": [r.time for r in records],
        "user_id": [r.user_id for r in records],
        "model": [r.model for r in records],
        "input_tokens": [r.input_tokens for r in records],
        "output_tokens": [r.output_tokens for r in records],
        "cost_usd": [r.cost for r in records],
        "request_id": [r.request_id for r in records],
    }
    tmp = _temp(path)
    pq.write_table(pa.table(columns, schema=schema), tmp)
    tmp.replace(path)
    return len(records)
