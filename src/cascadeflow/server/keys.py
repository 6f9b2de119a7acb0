"""Virtual keys: what a client presents as ``Authorization: Bearer …``, checked against stored SHA-256 hashes.

The gateway never keeps a client key in memory, a log or a metric: the config's ``key:`` is hashed as it is read
(``key_sha256:`` stores only the hash; ``key_env:`` reads the key from the environment). A presented key is
hashed and found by its digest, then compared with ``hmac.compare_digest``: lookup time depends only on the
hash of what the caller sent (which the caller can compute anyway), never on how much of a stored key matched.
Each key's ``id`` is the ``user_id`` its budget and rate limit are kept under.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cascadeflow.budget.config import BudgetConfig
from cascadeflow.errors import ConfigError
from cascadeflow.validate import check_int, check_text

_KEY_FIELDS: Final = ("key", "key_sha256", "key_env")
_ALLOWED: Final = frozenset({*_KEY_FIELDS, "id", "budget", "rpm", "models"})
_HEX64: Final = re.compile(r"[0-9a-fA-F]{64}")
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")
"""Key ids appear in metrics labels, log fields and ledger rows: a safe, bounded alphabet."""
ID_HASH_CHARS: Final = 12
"""A key without ``id`` is named ``key-`` + the first 12 hex digits of its hash: unique in practice, and it
reveals nothing usable about the key (48 bits of a one-way hash)."""
MAX_KEY_CHARS: Final = 512
"""Longer bearer values are refused before hashing: no real key is that long, and it bounds the work."""
BUDGET_WINDOWS: Final = ("hourly", "daily", "weekly", "monthly", "total")


def digest_of(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One virtual key: its id (the budget's user), its hash, its budget and request rate, its allowed models."""

    id: str
    digest: bytes
    budget: BudgetConfig | None = None
    rpm: int | None = None
    models: frozenset[str] | None = None

    def __repr__(self) -> str:
        return f"KeyEntry(id={self.id!r}, budget={self.budget!r}, rpm={self.rpm!r})"

    def may_use(self, model: str) -> bool:
        return self.models is None or model in self.models


class KeyRing:
    """Finds the key entry for a presented bearer key, or None."""

    def __init__(self, keys: Iterable[KeyEntry]) -> None:
        self._by_digest = {k.digest: k for k in keys}

    def __len__(self) -> int:
        return len(self._by_digest)

    def authenticate(self, presented: str) -> KeyEntry | None:
        if not presented or len(presented) > MAX_KEY_CHARS:
            return None
        digest = digest_of(presented)
        entry = self._by_digest.get(digest)
        if entry is None or not hmac.compare_digest(entry.digest, digest):
            return None
        return entry


def bearer_key(authorization: str | None, api_key: str | None = None) -> str | None:
    """The key from ``Authorization: Bearer <key>`` (or an ``api-key`` / ``x-api-key`` header), else None."""
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    return api_key.strip() if api_key else None


def budget_of(raw: object, where: str) -> BudgetConfig:
    """``budget: {daily: 10.0}`` → :class:`BudgetConfig` (hourly, daily, weekly, monthly, total)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"must be a mapping of window to USD, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(BUDGET_WINDOWS), key=str)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", f"unknown budget window; use {list(BUDGET_WINDOWS)}")
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ConfigError(f"{where}.{name}", f"must be a number of USD, got {value!r}")
    try:
        return BudgetConfig(**raw)
    except ConfigError as exc:
        raise ConfigError(f"{where}.{exc.field.removeprefix('BudgetConfig.')}", str(exc).split(": ", 1)[-1]) from None


def _digest(raw: Mapping[str, Any], where: str, env: Mapping[str, str]) -> bytes:
    given = [name for name in _KEY_FIELDS if name in raw]
    if len(given) != 1:
        raise ConfigError(where, "give exactly one of key, key_sha256, key_env")
    name = given[0]
    value = raw[name]
    if name == "key_sha256":
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            raise ConfigError(f"{where}.key_sha256", "must be 64 hex digits (sha256 of the key)")
        return bytes.fromhex(value)
    if name == "key_env":
        check_text(f"{where}.key_env", value)
        value = env.get(value, "").strip()
        if not value:
            raise ConfigError(f"{where}.key_env", f"environment variable {raw['key_env']} is not set or empty")
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_KEY_CHARS or value != value.strip():
        raise ConfigError(f"{where}.{name}", f"must be a non-empty string of at most {MAX_KEY_CHARS} characters "
                          "without surrounding spaces")
    return digest_of(value)


def parse_key(raw: object, where: str, model_names: set[str], env: Mapping[str, str]) -> KeyEntry:
    """One ``keys:`` entry. The key itself is hashed here and never stored."""
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"must be a mapping with key/key_sha256/key_env, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _ALLOWED, key=str)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", f"unknown key field; use {sorted(_ALLOWED)}")
    digest = _digest(raw, where, env)
    key_id = raw.get("id", f"key-{digest.hex()[:ID_HASH_CHARS]}")
    if not isinstance(key_id, str) or not _ID.fullmatch(key_id):
        raise ConfigError(f"{where}.id", "must be 1-128 characters of letters, digits and ._:@- (starting with a "
                          "letter or digit)")
    rpm = raw.get("rpm")
    if rpm is not None:
        check_int(f"{where}.rpm", rpm, lo=1)
    models = raw.get("models")
    allowed: frozenset[str] | None = None
    if models is not None:
        if isinstance(models, str) or not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            raise ConfigError(f"{where}.models", "must be a list of model names")
        missing = sorted(set(models) - model_names)
        if missing:
            raise ConfigError(f"{where}.models", f"names no configured model: {missing[0]!r}")
        allowed = frozenset(models)
    budget = None if raw.get("budget") is None else budget_of(raw["budget"], f"{where}.budget")
    return KeyEntry(id=key_id, digest=digest, budget=budget, rpm=rpm, models=allowed)
