"""Checks of user input shared by configs and request building; each raises :class:`ConfigError` naming the
field and showing the bad value, so a wrong setting fails where it is given, not deep inside a call."""

from __future__ import annotations

import math

from cascadeflow.errors import ConfigError


def check_number(name: str, value: object, *, lo: float = 0.0, hi: float = math.inf) -> None:
    """A real, finite number within [lo, hi] (``inf`` and ``nan`` are never valid settings)."""
    ok = not isinstance(value, bool) and isinstance(value, int | float)
    if ok and isinstance(value, float) and not math.isfinite(value):
        ok = False
    if not ok or not lo <= value <= hi:  # type: ignore[operator]
        if hi != math.inf and lo != -math.inf:
            bound = f"between {lo:g} and {hi:g}"
        elif hi != math.inf:
            bound = f"<= {hi:g}"
        else:
            bound = f">= {lo:g}"
        raise ConfigError(name, f"must be a finite number {bound}, got {value!r}")


def check_int(name: str, value: object, *, lo: int, hi: int | None = None) -> None:
    """A real integer (not a bool, not 1.5, not '2') within [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        bound = f">= {lo}" if hi is None else f"between {lo} and {hi}"
        raise ConfigError(name, f"must be an integer {bound}, got {value!r}")


def check_text(name: str, value: object) -> str:
    """A non-empty string that can be sent as UTF-8 (a lone surrogate cannot)."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(name, f"must be a non-empty string, got {value!r}")
    check_utf8(name, value)
    return value


def check_utf8(name: str, text: str) -> None:
    """Raise :class:`ConfigError` when ``text`` holds a lone surrogate, which no request body can carry."""
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ConfigError(
            name, f"contains a lone surrogate (U+{ord(text[exc.start]):04X}) at position {exc.start}: not valid "
            "Unicode text (was it decoded with errors='surrogateescape'?)"
        ) from None


