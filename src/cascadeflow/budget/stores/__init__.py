"""Ledger stores behind one protocol, chosen by URL or passed as an object.

    memory://                  (default) this process only
    sqlite:///relative.db      one file shared by the processes of one machine (sqlite:////abs/path.db)
    redis://host:6379/0        many machines; ?namespace=myapp: (key prefix)
    postgresql://user@host/db  many machines; ?prefix=myapp_ (table prefix)
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

from cascadeflow.budget.stores.memory import MemoryLedgerStore
from cascadeflow.budget.stores.protocol import GroupBy, LedgerStore, decide_grant
from cascadeflow.errors import ConfigError

__all__ = ["GroupBy", "LedgerStore", "MemoryLedgerStore", "decide_grant", "open_store"]


def _pop_option(url: str, name: str) -> tuple[str, str | None]:
    """Remove one of our options from a URL's query, leaving the rest for the driver."""
    base, _, raw_query = url.partition("?")
    query = parse_qsl(raw_query, keep_blank_values=True)
    value = next((v for k, v in query if k == name), None)
    rest = urlencode([(k, v) for k, v in query if k != name])
    return (f"{base}?{rest}" if rest else base), value


def _sqlite(url: str) -> LedgerStore:
    from cascadeflow.budget.stores.sqlite import DEFAULT_PREFIX, SqliteLedgerStore

    url, prefix = _pop_option(url, "prefix")
    path = url[len("sqlite:///") :]
    if not path or path == ":memory:":
        raise ConfigError(
            "store", "sqlite URL needs a file (sqlite:///relative.db, sqlite:////abs/path.db); in-process: memory://"
        )
    return SqliteLedgerStore(path, prefix=prefix or DEFAULT_PREFIX)


def _redis(url: str) -> LedgerStore:
    from cascadeflow.budget.stores.redis import DEFAULT_NAMESPACE, RedisLedgerStore

    url, namespace = _pop_option(url, "namespace")
    try:
        return RedisLedgerStore(url, namespace=namespace or DEFAULT_NAMESPACE)
    except TypeError as exc:  # redis-py turns unknown URL options into keyword arguments
        raise ConfigError("store", f"unsupported option in the Redis URL ({exc})") from exc


def _postgres(url: str) -> LedgerStore:
    from cascadeflow.budget.stores.postgres import PostgresLedgerStore
    from cascadeflow.budget.stores.sqlite import DEFAULT_PREFIX

    url, prefix = _pop_option(url, "prefix")
    return PostgresLedgerStore(url, prefix=prefix or DEFAULT_PREFIX)


_SCHEMES: tuple[tuple[str, Callable[[str], LedgerStore]], ...] = (
    ("memory://", lambda _url: MemoryLedgerStore()),
    ("sqlite:///", _sqlite),
    ("redis://", _redis),
    ("rediss://", _redis),
    ("unix://", _redis),
    ("postgresql://", _postgres),
    ("postgres://", _postgres),
)


def open_store(store: str | LedgerStore | None) -> LedgerStore:
    """A ledger store from a URL, an object implementing :class:`LedgerStore`, or ``None`` (in memory)."""
    if store is None:
        return MemoryLedgerStore()
    if not isinstance(store, str):
        if not isinstance(store, LedgerStore):
            raise ConfigError("store", f"expected a URL or a LedgerStore, got {type(store).__name__}")
        return store
    for prefix, factory in _SCHEMES:
        if store.startswith(prefix):
            return factory(store)
    schemes = ", ".join(prefix for prefix, _ in _SCHEMES)
    raise ConfigError("store", f"unknown ledger URL scheme (expected one of {schemes})")
