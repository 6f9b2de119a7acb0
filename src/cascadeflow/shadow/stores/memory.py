"""In-process shadow store: the records of this process only (tests, benchmarks, one-off runs)."""

from __future__ import annotations

import threading

from cascadeflow.shadow.records import ShadowRecord


class MemoryShadowStore:
    """Records in a list under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[ShadowRecord] = []
        self._state: dict[str, str] = {}

    def append(self, record: ShadowRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self, limit: int | None = None) -> list[ShadowRecord]:
        with self._lock:
            return list(self._records if limit is None else self._records[-limit:] if limit > 0 else [])

    def count(self) -> int:
        with self._lock:
            return len(self._records)

    def save_state(self, key: str, value: str) -> None:
        with self._lock:
            self._state[key] = value

    def load_state(self, key: str) -> str | None:
        with self._lock:
            return self._state.get(key)

    def close(self) -> None:
        return None
