"""JSON, CSV, SQLite and Parquet exports carry the same rows, exactly."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cascadeflow.budget import CostTracker
from cascadeflow.budget.exports import COLUMNS


def normalise(row: dict[str, Any]) -> tuple[object, ...]:
    return (
        datetime.fromisoformat(str(row["time"])) if not isinstance(row["time"], datetime) else row["time"],
        str(row["user_id"]), str(row["model"]), int(row["input_tokens"]), int(row["output_tokens"]),
        Decimal(str(row["cost_usd"])), str(row["request_id"]),
    )


@pytest.fixture
def tracker() -> CostTracker:
    start = datetime(2025, 5, 1, 9, 0, 0, 250000, tzinfo=UTC)
    ticks = iter(range(100))
    t = CostTracker(clock=lambda: start + timedelta(minutes=next(ticks)))
    for user, model, cost in (("ann", "small", "0.000000123"), ("bo,b", 'quote"d', "12.5"), ("ann", "big", "0")):
        t.commit(t.reserve(user, cost, model=model), cost, input_tokens=7, output_tokens=9)
    return t


def test_every_format_holds_the_same_rows(tracker: CostTracker, tmp_path: Path) -> None:
    expected = [
        (r.time, r.user_id, r.model, r.input_tokens, r.output_tokens, r.cost, r.request_id) for r in tracker.records()
    ]
    assert tracker.export_json(tmp_path / "c.json") == 3
    assert tracker.export_csv(tmp_path / "c.csv") == 3
    assert tracker.export_sqlite(tmp_path / "c.db") == 3

    from_json = [normalise(r) for r in json.loads((tmp_path / "c.json").read_text())]
    with (tmp_path / "c.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        from_csv = [normalise(r) for r in reader]
    conn = sqlite3.connect(tmp_path / "c.db")
    conn.row_factory = sqlite3.Row
    from_sqlite = [normalise(dict(r)) for r in conn.execute("SELECT * FROM cost_records")]
    conn.close()
    assert from_json == from_csv == from_sqlite == expected

    pq = pytest.importorskip("pyarrow.parquet")
    assert tracker.export_parquet(tmp_path / "c.parquet") == 3
    from_parquet = [normalise(r) for r in pq.read_table(tmp_path / "c.parquet").to_pylist()]
    assert from_parquet == expected


def test_exports_of_one_user_and_overwrite(tracker: CostTracker, tmp_path: Path) -> None:
    path = tmp_path / "ann.db"
    tracker.export_sqlite(path)
    assert tracker.export_sqlite(path, user_id="ann") == 2  # replaced, not appended
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*), MIN(user_id) FROM cost_records").fetchone() == (2, "ann")
    conn.close()
    assert not list(tmp_path.glob(".*.tmp"))
