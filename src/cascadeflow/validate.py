"""Checks of user input shared by configs and request building; each raises :class:`ConfigError` naming the
field and showing the bad value, so a wrong setting fails where it is given, not deep inside a call."""

from __future__ import annotations

import math
from collections.abc import Mapping

from cascadeflow.errors import ConfigError
from cascadeflow.secret import Secret, check_header_name, redact_url


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


def check_headers(name: str, headers: object) -> dict[str, Secret]:
    """Extra request headers, each value held as a :class:`Secret` (an ``api-key`` or ``Authorization``
    header is as secret as the key itself)."""
    if not isinstance(headers, Mapping):
        raise ConfigError(name, f"must be a mapping of header name to value, got {type(headers).__name__}")
    checked: dict[str, Secret] = {}
    for key, value in headers.items():
        where = f"{name}[{key!r}]"
        check_header_name(key, field=where)
        checked[key] = value if isinstance(value, Secret) else Secret(value, source=where, allow_space=True)
    return checked


def check_base_url(value: object) -> None:
    """An http(s) URL httpx can send as is; the message masks any credentials in it."""
    if value is None:
        return
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        shown = redact_url(value) if isinstance(value, str) else type(value).__name__
        raise ConfigError("ModelConfig.base_url", f"must start with http:// or https://, got {shown!r}")
    if any(ch.isspace() or ord(ch) < 0x20 or not ch.isascii() for ch in value):
        raise ConfigError("ModelConfig.base_url", f"must be an ASCII URL without spaces, got {redact_url(value)!r}")
