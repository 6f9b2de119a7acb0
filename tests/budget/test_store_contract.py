"""Every ledger store keeps the same contract: atomic grant rules, idempotent commits, expiring holds."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from cascadeflow.budget import LedgerRecord, LedgerStore, open_store
from cascadeflow.budget.records import BucketCheck, BucketRef, ReserveRequest, Settlement
from cascadeflow.errors import ConfigError

USER = BucketRef("u:alice", "daily:2025-01-01T00:00+00:00")
TOTAL = BucketRef("u:alice", "total")
EVERYONE = BucketRef("*", "total")
POLL_S = 0.05


@pytest.fixture
def store(any_ledger_url: str) -> Iterator[LedgerStore]:
    opened = open_store(any_ledger_url)
    yield opened
    opened.close()


def request(want: int, at_least: int | None = None, limit: int | None = 1000, *, ttl: float = 60.0,
            enforce: bool = True) -> ReserveRequest:
    return ReserveRequest(
        uuid.uuid4().hex, (BucketCheck(USER, limit),), want, want if at_least is None else at_least, ttl, enforce
    )


def settle(req: ReserveRequest, cost: int, model: str = "m1", user: str = "alice") -> Settlement:
    record = LedgerRecord.from_units(
        time=datetime(2025, 1, 1, 12, 30, 15, 123456, tzinfo=UTC), user_id=user, model=model, input_tokens=11,
        output_tokens=7, cost_units=cost, request_id=f"req-{req.reservation_id[:6]}",
        reservation_id=req.reservation_id,
    )
    return Settlement(req.reservation_id, tuple(c.bucket for c in req.checks), (USER, TOTAL, EVERYONE), record)


def usage(store: LedgerStore, bucket: BucketRef = USER) -> tuple[int, int]:
    (state,) = store.usage([BucketCheck(bucket, None)])
    return state.committed_units, state.held_units


def test_grant_hold_commit_and_read_back(store: LedgerStore) -> None:
    req = request(300)
    assert store.reserve(req).granted_units == 300
    assert usage(store) == (0, 300)
    assert store.commit(settle(req, 250)) is True
    assert usage(store) == (250, 0)
    assert usage(store, TOTAL) == (250, 0)
    assert usage(store, EVERYONE) == (250, 0)
    (record,) = store.records("alice")
    assert record.cost_units == 250 and record.input_tokens == 11 and record.output_tokens == 7
    assert record.time == datetime(2025, 1, 1, 12, 30, 15, 123456, tzinfo=UTC)
    assert record.reservation_id == req.reservation_id and record.request_id.startswith("req-")
    assert store.records("bob") == []
    assert store.totals("model") == {"m1": 250}
    assert store.totals("user_id") == {"alice": 250}


def test_partial_grant_then_refusal_names_the_bucket(store: LedgerStore) -> None:
    first = request(700)
    assert store.reserve(first).granted_units == 700
    partial = store.reserve(request(500, at_least=100))
    assert partial.granted and partial.granted_units == 300
    refused = store.reserve(request(50, at_least=1))
    assert not refused.granted and refused.granted_units == 0
    assert refused.blocking is not None
    assert refused.blocking.bucket == USER
    assert (refused.blocking.committed_units, refused.blocking.held_units) == (0, 1000)


def test_not_enforced_records_the_hold_but_never_refuses(store: LedgerStore) -> None:
    assert store.reserve(request(5000, enforce=False)).granted_units == 5000
    assert usage(store) == (0, 5000)


def test_release_returns_the_money(store: LedgerStore) -> None:
    req = request(1000)
    store.reserve(req)
    assert not store.reserve(request(1)).granted
    store.release(req.reservation_id, (USER,))
    assert usage(store) == (0, 0)
    assert store.reserve(request(1000)).granted


def test_commit_is_idempotent(store: LedgerStore) -> None:
    req = request(100)
    store.reserve(req)
    assert store.commit(settle(req, 100)) is True
    assert store.commit(settle(req, 100)) is False
    assert usage(store) == (100, 0)
    assert len(store.records()) == 1


def test_expired_holds_stop_counting_and_late_commits_still_record(store: LedgerStore) -> None:
    req = request(1000, ttl=0.3)
    store.reserve(req)
    deadline = time.monotonic() + 10
    while usage(store)[1] > 0:
        assert time.monotonic() < deadline, "hold never expired"
        time.sleep(POLL_S)
    assert store.reserve(request(600)).granted
    assert store.commit(settle(req, 400)) is True  # the call finished after its TTL: its cost is still real
    assert usage(store) == (400, 600)


def test_records_of_everyone_in_settlement_order(store: LedgerStore) -> None:
    for user in ("bob", "alice", "carol"):
        req = request(10)
        store.reserve(req)
        store.commit(settle(req, 10, user=user))
    assert [r.user_id for r in store.records()] == ["bob", "alice", "carol"]
    assert store.totals("user_id") == {"alice": 10, "bob": 10, "carol": 10}


def test_no_checks_means_nothing_held(store: LedgerStore) -> None:
    req = ReserveRequest(uuid.uuid4().hex, (), 10**12, 10**12, 60.0, True)
    assert store.reserve(req).granted_units == 10**12
    assert store.commit(Settlement(req.reservation_id, (), (EVERYONE,), settle(req, 5).record)) is True
    assert usage(store, EVERYONE) == (5, 0)


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite:///:memory:", "mysql://x", "redis://127.0.0.1:1/0?bogus=1"])
def test_bad_store_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError, match="store"):
        open_store(url)
