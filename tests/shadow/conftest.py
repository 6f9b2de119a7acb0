"""Shadow-store URLs, each test isolated by its own SQLite file, Redis namespace or table prefix."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.service_cleanup import drop_postgres_prefix, drop_redis_namespace


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
        drop_redis_namespace(base, f"cfshadow:{tag}:")
    else:
        base = request.getfixturevalue("postgres_url")
        yield f"{base}?prefix=s{tag}_"
        drop_postgres_prefix(base, f"s{tag}_", ("records", "state"))
