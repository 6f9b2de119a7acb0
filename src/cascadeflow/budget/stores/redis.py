"""Redis ledger store (``redis://…``): many processes on many machines share one ledger through Lua scripts.

Check-and-hold is one script (``redis_lua.RESERVE``), so no two reservations interleave; holds live in a
sorted set scored by expiry (server clock) and vanish after their TTL if the process that took them died.
Designed for one Redis primary (the scripts touch one user's and the tracker-wide keys together, which Redis
Cluster would need in one hash slot).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cascadeflow.budget.records import (
    BucketCheck,
    BucketRef,
    BucketState,
    LedgerRecord,
    ReserveOutcome,
    ReserveRequest,
    Settlement,
)
from cascadeflow.budget.stores import redis_lua
from cascadeflow.budget.stores.protocol import GroupBy
from cascadeflow.budget.stores.redis_connect import connect_redis
from cascadeflow.budget.windows import BUCKET_RETENTION_SECONDS, WINDOWS

if TYPE_CHECKING:
    import redis

DEFAULT_NAMESPACE = "cascadeflow:ledger:"
SETTLED_MARKER_SECONDS = 30 * 86_400  # a repeated commit of the same reservation is ignored for this long
_MS = 1000


def _retention(window_key: str) -> int:
    kind = window_key.split(":", 1)[0]
    for window in WINDOWS:
        if window == kind:
            seconds = BUCKET_RETENTION_SECONDS[window]
            return -1 if seconds is None else seconds
    return -1


class RedisLedgerStore:
    """Ledger under keys starting with ``namespace``; pass a URL or a ready ``redis.Redis`` client."""

    blocking = True

    def __init__(self, url_or_client: str | redis.Redis, *, namespace: str = DEFAULT_NAMESPACE) -> None:
        self._client, self._owns_client = connect_redis(url_or_client, "Redis ledgers")
        self._ns = namespace
        self._client.ping()  # fail at construction, not on the first paid call (bad URL options surface here too)
        self._reserve = self._client.register_script(redis_lua.RESERVE)
        self._commit = self._client.register_script(redis_lua.COMMIT)
        self._release = self._client.register_script(redis_lua.RELEASE)
        self._usage = self._client.register_script(redis_lua.USAGE)

    def _bucket_keys(self, bucket: BucketRef) -> tuple[str, str, str]:
        tag = f"{bucket.account}|{bucket.window_key}"
        return f"{self._ns}b:{tag}", f"{self._ns}hz:{tag}", f"{self._ns}hh:{tag}"

    def _hold_keys(self, held: Sequence[BucketRef]) -> list[str]:
        return [key for b in held for key in self._bucket_keys(b)[1:]]

    def reserve(self, request: ReserveRequest) -> ReserveOutcome:
        keys = [key for c in request.checks for key in self._bucket_keys(c.bucket)]
        limits = ["-1" if c.limit_units is None else str(c.limit_units) for c in request.checks]
        ttl_ms = max(1, round(request.ttl_seconds * _MS))
        args = [request.reservation_id, request.want_units, request.at_least_units, ttl_ms,
                "1" if request.enforce else "0", *limits]
        granted, tight, committed, held = (int(v) for v in self._reserve(keys=keys, args=args))
        if granted >= 0:
            return ReserveOutcome(granted)
        check = request.checks[tight - 1]
        return ReserveOutcome(0, blocking=BucketState(check.bucket, check.limit_units, committed, held))

    def commit(self, settlement: Settlement) -> bool:
        r = settlement.record
        credits = sorted(set(settlement.credits))
        keys = [
            f"{self._ns}settled:{settlement.reservation_id}",
            f"{self._ns}rec:{r.user_id}",
            f"{self._ns}users",
            f"{self._ns}by_model",
            f"{self._ns}by_user",
            f"{self._ns}seq",
            *(self._bucket_keys(b)[0] for b in credits),
            *self._hold_keys(settlement.held),
        ]
        args: list[str | int] = [
            settlement.reservation_id, r.cost_units, _encode(r), r.user_id, r.model, SETTLED_MARKER_SECONDS,
            len(credits), *(_retention(b.window_key) for b in credits),
        ]
        return int(self._commit(keys=keys, args=args)) == 1

    def release(self, reservation_id: str, held: Sequence[BucketRef]) -> None:
        if held:
            self._release(keys=self._hold_keys(held), args=[reservation_id])

    def usage(self, checks: Sequence[BucketCheck]) -> list[BucketState]:
        if not checks:
            return []
        keys = [key for c in checks for key in self._bucket_keys(c.bucket)]
        values = [int(v) for v in self._usage(keys=keys, args=[])]
        return [BucketState(c.bucket, c.limit_units, values[2 * i], values[2 * i + 1]) for i, c in enumerate(checks)]

    def records(self, user_id: str | None = None) -> list[LedgerRecord]:
        if user_id is not None:
            users = [user_id]
        else:
            users = sorted(_text(u) for u in self._client.smembers(f"{self._ns}users"))
        numbered: list[tuple[int, LedgerRecord]] = []
        for user in users:
            numbered.extend(_decode(raw) for raw in self._client.lrange(f"{self._ns}rec:{user}", 0, -1))
        numbered.sort(key=lambda pair: pair[0])
        return [record for _, record in numbered]

    def totals(self, by: GroupBy) -> dict[str, int]:
        raw: dict[Any, Any] = self._client.hgetall(f"{self._ns}by_model" if by == "model" else f"{self._ns}by_user")
        return {_text(k): int(v) for k, v in raw.items()}

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _encode(r: LedgerRecord) -> str:
    return json.dumps(
        {"t": r.time.isoformat(), "u": r.user_id, "m": r.model, "i": r.input_tokens, "o": r.output_tokens,
         "c": r.cost_units, "q": r.request_id, "id": r.reservation_id},
        separators=(",", ":"),
    )


def _decode(raw: bytes | str) -> tuple[int, LedgerRecord]:
    seq, _, body = _text(raw).partition("|")
    d = json.loads(body)
    return int(seq), LedgerRecord.from_units(
        time=datetime.fromisoformat(d["t"]), user_id=d["u"], model=d["m"], input_tokens=int(d["i"]),
        output_tokens=int(d["o"]), cost_units=int(d["c"]), request_id=d["q"], reservation_id=d["id"],
    )
