"""Ledger URLs for the shared stores, each test isolated by its own SQLite file, Redis namespace or table prefix."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.service_cleanup import drop_postgres_prefix, drop_redis_namespace

SHARED_STORES = ("sqlite", "redis", "postgres")


def drop_postgres_ledger(url: str, prefix: str) -> None:
    drop_postgres_prefix(url, prefix, ("records", "holds", "buckets"), ("reserve",))


def isolated_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    tag = uuid.uuid4().hex[:10]
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
    elif kind == "redis":
        base: str = request.getfixturevalue("redis_url")
        namespace = f"cftest:{tag}:"
        yield f"{base}?namespace={namespace}"
        drop_redis_namespace(base, namespace)
    else:
        base = request.getfixturevalue("postgres_url")
        prefix = f"t{tag}_"
        yield f"{base}?prefix={prefix}"
        drop_postgres_ledger(base, prefix)


@pytest.fixture(params=SHARED_STORES)
def shared_ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a store many processes can share: SQLite file, Redis, PostgreSQL."""
    yield from isolated_url(request.param, request, tmp_path)


@pytest.fixture(params=("memory", *SHARED_STORES))
def any_ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield "memory://"
        return
    yield from isolated_url(request.param, request, tmp_path)
