"""Shadow-record stores behind one protocol, chosen by URL or passed as an object (the ledger stores' URLs).

    memory://                  this process only
    sqlite:///relative.db      one machine (the default for a persistent store); ?prefix=myapp_
    redis://host:6379/0        many machines; ?namespace=myapp:shadow:
    postgresql://user@host/db  many machines; ?prefix=myapp_shadow_
"""

from __future__ import annotations

from cascadeflow.budget.stores import _pop_option
from cascadeflow.errors import ConfigError
from cascadeflow.shadow.stores.memory import MemoryShadowStore
from cascadeflow.shadow.stores.protocol import ShadowStore

__all__ = ["MemoryShadowStore", "ShadowStore", "open_shadow_store"]


def _open_url(url: str) -> ShadowStore:
    if url.startswith("memory://"):
        return MemoryShadowStore()
    if url.startswith("sqlite:///"):
        from cascadeflow.shadow.stores.sqlite import DEFAULT_PREFIX, SqliteShadowStore

        url, prefix = _pop_option(url, "prefix")
        path = url[len("sqlite:///"):]
        if not path or path == ":memory:":
            raise ConfigError("shadow.store", "sqlite URL needs a file (sqlite:///shadow.db); in-process: memory://")
        return SqliteShadowStore(path, prefix=prefix or DEFAULT_PREFIX)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from cascadeflow.shadow.stores.redis import DEFAULT_NAMESPACE, RedisShadowStore

        url, namespace = _pop_option(url, "namespace")
        return RedisShadowStore(url, namespace=namespace or DEFAULT_NAMESPACE)
    if url.startswith(("postgresql://", "postgres://")):
        from cascadeflow.shadow.stores.postgres import DEFAULT_PREFIX as PG_PREFIX
        from cascadeflow.shadow.stores.postgres import PostgresShadowStore

        url, prefix = _pop_option(url, "prefix")
        return PostgresShadowStore(url, prefix=prefix or PG_PREFIX)
    raise ConfigError("shadow.store", "unknown store URL scheme (memory://, sqlite:///, redis://, postgresql://)")


def open_shadow_store(store: str | ShadowStore | None) -> ShadowStore:
    """A shadow store from a URL, an object implementing :class:`ShadowStore`, or None (in memory)."""
    if store is None:
        return MemoryShadowStore()
    if isinstance(store, str):
        return _open_url(store)
    if not isinstance(store, ShadowStore):
        raise ConfigError("shadow.store", f"expected a URL or a ShadowStore, got {type(store).__name__}")
    return store
