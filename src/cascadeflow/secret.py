"""API keys as a secret type, and redaction of credentials in URLs and messages.

A key has exactly one place to go: the request header. :class:`Secret` holds it so that ``repr``, ``str``,
f-strings, ``pickle`` and ``copy`` show ``**********``; only :meth:`Secret.reveal` returns the value, and the
providers call it where they build the header. A key is also checked when it is wrapped: a stray newline,
space or non-ASCII character would otherwise reach httpx, whose "Illegal header value" error quotes the whole
key (and would be retried as a transport failure). URLs may carry credentials too (``https://user:pass@host``,
``?key=...``); :func:`redact_urls` masks them in any text before it becomes a message, a repr or a log line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from cascadeflow.errors import ConfigError

MASK: Final = "**********"

_VISIBLE_ASCII_MIN: Final = 0x21  # '!': header values of keys are visible ASCII, no spaces
_VISIBLE_ASCII_MAX: Final = 0x7E  # '~'
_HEADER_TEXT_MIN: Final = 0x20  # other header values may contain spaces (and tabs)
_URL_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_USERINFO_RE: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")
_QUERY_VALUE_RE: Final = re.compile(r"([?&;][^=&#;]+=)[^&#;]*")
_HEADER_NAME_RE: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""RFC 9110 token characters: what a header name may consist of."""


def _bad_char(value: str, *, allow_space: bool) -> tuple[int, str] | None:
    """(position, description) of the first character that may not appear in a header value, else None."""
    low = _HEADER_TEXT_MIN if allow_space else _VISIBLE_ASCII_MIN
    for i, ch in enumerate(value):
        code = ord(ch)
        if low <= code <= _VISIBLE_ASCII_MAX or (allow_space and ch == "\t"):
            continue
        if ch in "\r\n":
            return i, "a line break"
        if ch == " " or ch == "\t":
            return i, "a space"
        if code < _HEADER_TEXT_MIN or code == _VISIBLE_ASCII_MAX + 1:
            return i, "a control character"
        return i, "a non-ASCII character"
    return None


def check_header_value(value: object, *, field: str, allow_space: bool = False) -> str:
    """``value`` if it can be sent as an HTTP header value, else a :class:`ConfigError` naming ``field``.

    The message says what is wrong and where, never the value itself (it is usually a key).
    """
    if not isinstance(value, str):
        raise ConfigError(field, f"must be a string, got {type(value).__name__}")
    if not value:
        raise ConfigError(field, "must not be empty")
    bad = _bad_char(value, allow_space=allow_space)
    if bad is not None:
        position, what = bad
        kind = "printable ASCII" if allow_space else "printable ASCII without spaces"
        raise ConfigError(
            field,
            f"contains {what} at position {position} of {len(value)}; a header value must be {kind} "
            "(was a newline or quote copied along with it?)",
        )
    return value


def check_header_name(name: object, *, field: str) -> str:
    """``name`` if it is a valid HTTP header name, else a :class:`ConfigError` naming ``field``."""
    if not isinstance(name, str) or not _HEADER_NAME_RE.fullmatch(name):
        raise ConfigError(field, f"header names are ASCII letters, digits and !#$%&'*+-.^_`|~; got {name!r}")
    return name


def _restore_redacted(source: str) -> Secret:
    return Secret.redacted(source)


class Secret:
    """A credential: shown as ``**********`` everywhere; :meth:`reveal` is the only way to the value.

    ``source`` names where the value came from (``ModelConfig.api_key``, ``OPENAI_API_KEY``), so errors about
    it can say which setting to fix. A pickled ``Secret`` keeps only that name: unpickled, it is a redacted
    placeholder whose :meth:`reveal` raises :class:`ConfigError` (a key never travels inside a pickle).
    """

    __slots__ = ("_value", "source")

    def __init__(self, value: str, *, source: str = "api_key", allow_space: bool = False) -> None:
        self._value: str | None = check_header_value(value, field=source, allow_space=allow_space)
        self.source = source

    @classmethod
    def redacted(cls, source: str) -> Secret:
        """A placeholder for a key that was removed (e.g. by pickling)."""
        secret = cls.__new__(cls)
        secret._value = None
        secret.source = source
        return secret

    @property
    def is_redacted(self) -> bool:
        return self._value is None

    def reveal(self) -> str:
        """The key itself; call it only where the request header is built."""
        if self._value is None:
            raise ConfigError(
                self.source,
                "this key was redacted (configs drop their keys when pickled); pass it again or set it in "
                "the environment",
            )
        return self._value

    def scrub(self, text: str) -> str:
        """``text`` with every occurrence of the key replaced by the mask (for errors that might echo it)."""
        if self._value is None or self._value not in text:
            return text
        return text.replace(self._value, MASK)

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        if self._value is None or other._value is None:
            return self._value is other._value
        import hmac  # constant-time comparison; imported here because hashlib costs ~5 ms at package import

        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (_restore_redacted, (self.source,))

    def __copy__(self) -> Secret:
        return self  # immutable: copying in memory keeps the key (only pickles drop it)

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


def as_secret(value: str | Secret | None, *, source: str) -> Secret | None:
    """Wrap a plain key (checked, with ``source`` as the name in errors); an empty string means no key."""
    if value is None or isinstance(value, Secret):
        return value
    if isinstance(value, str) and not value:
        return None
    return Secret(value, source=source)


def redact_url(url: str) -> str:
    """``url`` with its user info and every query value masked: ``https://**********@host/v1?key=**********``."""
    redacted = _USERINFO_RE.sub(lambda m: f"{m.group(1)}{MASK}@", url, count=1)
    if "?" in redacted:
        head, sep, tail = redacted.partition("?")
        redacted = head + _QUERY_VALUE_RE.sub(lambda m: f"{m.group(1)}{MASK}", sep + tail)
    return redacted


def redact_urls(text: str) -> str:
    """``text`` with credentials masked in every URL it contains (cheap when it contains none)."""
    if "://" not in text:
        return text
    return _URL_RE.sub(lambda m: redact_url(m.group(0)), text)


def scrub(text: str, secrets: Iterable[Secret] = ()) -> str:
    """``text`` without the given keys and without URL credentials: safe for messages, reprs and logs."""
    for secret in secrets:
        text = secret.scrub(text)
    return redact_urls(text)


def has_url_credentials(url: str) -> bool:
    """True when ``url`` carries user info or a query string (either may hold a credential)."""
    return redact_url(url) != url
