"""Which exceptions mean "a shared store is down", and the one error they become.

Ledgers and rate limits keep state in SQLite, Redis or PostgreSQL; their drivers fail with their own exception
classes (``sqlite3.OperationalError``, ``redis.ConnectionError``, ``psycopg.OperationalError``, ``OSError``).
Callers get :class:`~cascadeflow.errors.StoreUnavailableError` instead, naming the store and scrubbed of URL
credentials (the gateway answers 503). Optional drivers are looked up only among loaded modules: a store that uses
redis-py has imported it, and nothing here imports a driver.
"""

from __future__ import annotations

import sqlite3
import sys
from typing import Final

from cascadeflow.errors import StoreUnavailableError
from cascadeflow.secret import redact_urls

_OPTIONAL_DRIVERS: Final = (("redis", "RedisError"), ("psycopg", "Error"), ("limits.errors", "StorageError"))
"""(module, exception class) of the optional drivers, used when that module is loaded."""


def driver_errors() -> tuple[type[BaseException], ...]:
    """The exception classes of every loaded store driver (always sqlite3's and ``OSError``)."""
    found: list[type[BaseException]] = [sqlite3.Error, OSError]
    for module_name, class_name in _OPTIONAL_DRIVERS:
        module = sys.modules.get(module_name)
        cls = getattr(module, class_name, None) if module is not None else None
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


def store_unavailable(store: str, kind: str, what: str, exc: BaseException) -> StoreUnavailableError:
    """``StoreUnavailableError`` for ``what`` (e.g. ``reserve``) on the ``store`` (e.g. "budget ledger") of ``kind``."""
    detail = redact_urls(f"{type(exc).__name__}: {exc}")
    return StoreUnavailableError(
        f"the {store} ({kind}) is unavailable: {what} failed with {detail}; nothing was granted or charged by this "
        "call — check the store and retry", store=kind
    )
