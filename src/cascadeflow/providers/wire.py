"""Typed reads of decoded JSON answers, shared by the wire parsers (OpenAI-compatible, Anthropic, LiteLLM).

A server's answer is untrusted input: ``usage.prompt_tokens`` may be ``"ten"``, a stream delta a string,
``choices`` a dict. Every field is read through one of these helpers, which return the expected type or raise
:class:`~cascadeflow.errors.MalformedResponseError` naming the field — so a wrong answer is a provider failure
(the cascade falls back to the next tier), never an ``AttributeError`` after text was shown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from cascadeflow.errors import MalformedResponseError
from cascadeflow.providers.http_errors import Endpoint

_SNIPPET_CHARS: Final = 80
_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})


def _bad(endpoint: Endpoint, where: str, what: str, raw: Any) -> MalformedResponseError:
    return endpoint.malformed(f"{where} is not {what}: {repr(raw)[:_SNIPPET_CHARS]}")


def mapping(raw: Any, where: str, endpoint: Endpoint) -> Mapping[str, Any]:
    """An object (``null``/absent reads as empty)."""
    if raw is None:
        return _EMPTY
    if not isinstance(raw, Mapping):
        raise _bad(endpoint, where, "an object", raw)
    return raw


def items(raw: Any, where: str, endpoint: Endpoint) -> list[Any]:
    """A list (``null``/absent reads as empty)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _bad(endpoint, where, "a list", raw)
    return raw


def text(raw: Any, where: str, endpoint: Endpoint) -> str | None:
    """A string or ``null``."""
    if raw is None or isinstance(raw, str):
        return raw
    raise _bad(endpoint, where, "text", raw)


def count(raw: Any, where: str, endpoint: Endpoint) -> int:
    """A non-negative integer (token counts, indices); ``null``/absent reads as 0. ``12.0`` is accepted (some
    servers emit floats), ``"ten"``, ``true``, ``1.5``, ``NaN`` and negatives are not."""
    if raw is None:
        return 0
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _bad(endpoint, where, "a non-negative integer", raw)
    if isinstance(raw, float) and (not math.isfinite(raw) or not raw.is_integer()):
        raise _bad(endpoint, where, "a non-negative integer", raw)
    if raw < 0:
        raise _bad(endpoint, where, "a non-negative integer", raw)
    return int(raw)


def number(raw: Any, where: str, endpoint: Endpoint) -> float:
    """A finite number (e.g. a logprob)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise _bad(endpoint, where, "a finite number", raw)
    return float(raw)
