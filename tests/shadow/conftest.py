"""Shadow-store URLs, each test isolated by its own SQLite file, Redis namespace or table prefix."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _drop_redis(url: str, namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{namespace}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _drop_postgres(url: str, prefix: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("records", "state"):
            conn.execute(f"DROP TABLE IF EXISTS {prefix}{table}")


@pytest.fixture(params=("memory", "sqlite", "redis", "postgres"))
def shadow_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    tag = uuid.uuid4().hex[:10]
    if request.param == "memory":
        yield "memory://"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shadow.db'}"
    elif request.param == "redis":
        base: str = request.getfixturevalue("redis_url")
        yield f"{base}?namespace=cfshadow:{tag}:"
        _drop_redis(base, f"cfshadow:{tag}:")
    else:
        base = request.getfixturevalue("postgres_url")
        yield f"{base}?prefix=s{tag}_"
        _drop_postgres(base, f"s{tag}_")
