"""The shadow-record store protocol: append-only records plus one small state blob (the fitted policy).

Stores are blocking (called from a worker thread by the async component), like the ledger stores they follow.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from cascadeflow.shadow.records import ShadowRecord


@runtime_checkable
class ShadowStore(Protocol):
    """Where shadow records live; many replicas may append to one store concurrently."""

    def append(self, record: ShadowRecord) -> None: ...

    def records(self, limit: int | None = None) -> list[ShadowRecord]:
        """The most recent ``limit`` records (all when None), oldest first."""
        ...

    def count(self) -> int: ...

    def save_state(self, key: str, value: str) -> None:
        """Keep a small JSON document (the last fitted policy) under ``key``; last write wins."""
        ...

    def load_state(self, key: str) -> str | None: ...

    def close(self) -> None: ...
