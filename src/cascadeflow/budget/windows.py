"""Calendar windows (hour, day, ISO week, month, all time) in a chosen time zone, and their storage keys.

A window's key is its kind plus its local start *with the UTC offset* (``daily:2025-03-01T00:00+01:00``), so
trackers in different zones never share a bucket by accident, and a repeated DST hour gets its own key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from types import MappingProxyType
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cascadeflow.errors import ConfigError

Window: TypeAlias = Literal["hourly", "daily", "weekly", "monthly", "total"]
WINDOWS: tuple[Window, ...] = ("hourly", "daily", "weekly", "monthly", "total")

_DAY = 86_400
KEY_CACHE_SIZE = 1024
"""Window keys remembered: five windows x a few time zones x the seconds in flight, with room to spare."""
# How long a finished window's bucket stays readable in stores that expire keys (Redis); SQL stores keep all.
BUCKET_RETENTION_SECONDS: Mapping[Window, int | None] = MappingProxyType({
    "hourly": 2 * _DAY,
    "daily": 8 * _DAY,
    "weekly": 36 * _DAY,
    "monthly": 100 * _DAY,
    "total": None,
})


def resolve_timezone(value: str | tzinfo | None, field: str = "timezone") -> tzinfo:
    """A ``tzinfo`` from an IANA name (``"Europe/Berlin"``), a tzinfo, or ``None`` (UTC)."""
    if value is None:
        return ZoneInfo("UTC")
    if isinstance(value, tzinfo):
        return value
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(field, f"unknown time zone {value!r} (use an IANA name such as 'Europe/Berlin')") from exc


def check_window(value: str, field: str = "window") -> Window:
    for window in WINDOWS:
        if value == window:
            return window
    raise ConfigError(field, f"must be one of {', '.join(WINDOWS)}, got {value!r}")


def window_start(window: Window, now: datetime, tz: tzinfo) -> datetime | None:
    """Local start of the window containing ``now`` (an aware datetime); ``None`` for ``total``."""
    local = now.astimezone(tz)
    if window == "hourly":
        return local.replace(minute=0, second=0, microsecond=0)
    if window == "total":
        return None
    midnight = datetime(local.year, local.month, local.day, tzinfo=tz)
    if window == "daily":
        return midnight
    if window == "weekly":
        return midnight - timedelta(days=midnight.weekday())
    return datetime(local.year, local.month, 1, tzinfo=tz)


def window_key(window: Window, now: datetime, tz: tzinfo) -> str:
    """The bucket key of ``window`` at ``now`` (e.g. ``daily:2026-12-01T00:00+01:00``)."""
    start = window_start(window, now, tz)
    return window if start is None else f"{window}:{start.isoformat(timespec='minutes')}"


class WindowKeys:
    """:func:`window_key` remembered per second, held by a tracker's policy: a busy tracker asks for the same few
    keys thousands of times a second (every call and settlement names ten buckets), and every window starts on a
    whole second in every time zone."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._memo: dict[tuple[Window, datetime], str] = {}

    def __call__(self, window: Window, now: datetime) -> str:
        key = (window, now.replace(microsecond=0))
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= KEY_CACHE_SIZE:
                self._memo.clear()
            found = self._memo[key] = window_key(window, key[1], self.tz)
        return found
