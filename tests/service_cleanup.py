"""Leaving the shared Redis and PostgreSQL as a test found them: each test works under its own namespace or
table prefix, and these drop what it created."""

from __future__ import annotations

from collections.abc import Sequence


def drop_redis_namespace(url: str, namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{namespace}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def drop_postgres_prefix(url: str, prefix: str, tables: Sequence[str], functions: Sequence[str] = ()) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            conn.execute(f"DROP TABLE IF EXISTS {prefix}{table}")
        for function in functions:
            conn.execute(f"DROP FUNCTION IF EXISTS {prefix}{function}")
