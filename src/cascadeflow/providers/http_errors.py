"""Map HTTP answers and transport failures into cascadeflow's exception tree, at the provider boundary.

Every wire-API provider sends its requests through :func:`post_json` (or :func:`cascadeflow.providers.sse.
stream_events`), so a 429 from OpenAI and a 429 from Anthropic become the same :class:`RateLimitError`, with the
server's ``Retry-After`` already parsed into seconds for the retry policy. Anything else that is not the promised
answer (a redirect, a body httpx cannot decode) is a :class:`MalformedResponseError`, and every message is scrubbed
of the endpoint's key and of URL credentials before it leaves (:meth:`Endpoint.scrub`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from cascadeflow.errors import (
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    PermanentProviderError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
)
from cascadeflow.secret import Secret, redact_url, scrub

# Error bodies can be whole HTML pages from a proxy; keep enough to diagnose, not enough to flood logs.
MAX_ERROR_DETAIL_CHARS = 500

_AUTH_STATUSES = frozenset({401, 403})
_BAD_REQUEST_STATUSES = frozenset({400, 404, 422})
# 408 (request timeout) and 409 (conflict: OpenAI's "try again" lock) are transient although they are 4xx.
_TIMEOUT_STATUS = 408
_RETRIABLE_CLIENT_STATUSES = frozenset({409})
_RATE_LIMIT_STATUS = 429
_SERVER_ERROR_MIN = 500
_REDIRECT_MIN = 300
_MS_PER_SECOND = 1000.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Labels every error raised for one model endpoint carries (``provider/model``), and the secrets its
    messages must never contain (the key, header values), whatever a server or a transport error echoes."""

    provider: str
    model: str
    secrets: tuple[Secret, ...] = field(default=(), compare=False)

    def scrub(self, text: str) -> str:
        """``text`` without this endpoint's secrets and without URL credentials."""
        return scrub(text, self.secrets)

    def malformed(self, why: str, *, status_code: int | None = None) -> MalformedResponseError:
        """A :class:`MalformedResponseError` for this endpoint, its message scrubbed."""
        return MalformedResponseError(
            self.scrub(why), model=self.model, provider=self.provider, status_code=status_code
        )


class ClientHolder:
    """The provider's ``httpx.AsyncClient``s, one per event loop, each created on first use there.

    Building a client loads the TLS trust store (55-65 ms each, measured on the loaded 2-core box), so an
    agent with several tiers would pay that per tier at construction even for tiers never called. A client's
    pooled connections belong to the event loop that opened them: reusing one from another loop fails
    ("Event loop is closed" after ``asyncio.run`` returned), which is what an agent called from two
    ``asyncio.run`` calls, or from a framework's sync API and its async API, does. So each loop gets its own
    client, dropped with the loop. An injected client (tests, shared pools) is used as is and never closed by us.

    A provider whose URL is plain ``http://`` (a local server, a sidecar) never speaks TLS, so its clients get a
    TLS context that trusts no certificate authority instead of the trust store (~26 ms saved per client here):
    verification stays required, so if such a client were ever sent to an ``https://`` address the handshake
    would fail rather than go unverified.
    """

    def __init__(
        self,
        client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
        timeout_s: float,
        *,
        connect_timeout_s: float | None = None,
        plain_http: bool = False,
    ) -> None:
        import weakref

        self._plain_http = plain_http
        self._client = client
        self._owned = client is None
        self._transport = transport
        self._timeout = httpx.Timeout(timeout_s, connect=min(connect_timeout_s or timeout_s, timeout_s))
        self._per_loop: weakref.WeakKeyDictionary[object, httpx.AsyncClient] = weakref.WeakKeyDictionary()

    @property
    def client(self) -> httpx.AsyncClient:
        if not self._owned and self._client is not None:
            return self._client
        loop = _running_loop()
        if loop is None:  # not inside a coroutine: one client, as before
            if self._client is None:
                self._client = self._new_client()
            return self._client
        found = self._per_loop.get(loop)
        if found is None:
            found = self._per_loop[loop] = self._new_client()
        return found

    def _new_client(self) -> httpx.AsyncClient:
        if self._plain_http and self._transport is None:
            import ssl

            trusts_nothing = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED + hostname check, no CAs
            return httpx.AsyncClient(timeout=self._timeout, verify=trusts_nothing)
        return httpx.AsyncClient(timeout=self._timeout, transport=self._transport)

    async def aclose(self) -> None:
        """Close the current loop's client; clients of other loops still running are closed on their loop."""
        if not self._owned:
            return
        import asyncio

        current = _running_loop()
        clients: list[tuple[object | None, httpx.AsyncClient]] = list(self._per_loop.items())
        self._per_loop.clear()
        if self._client is not None:
            clients.append((current, self._client))
            self._client = None
        for loop, client in clients:
            if loop is current:
                await client.aclose()
            elif isinstance(loop, asyncio.AbstractEventLoop) and loop.is_running() and not loop.is_closed():
                asyncio.run_coroutine_threadsafe(client.aclose(), loop)


def _running_loop() -> object | None:
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def parse_retry_after(
    headers: Mapping[str, str], *, clock: Callable[[], float] = time.time
) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, ``Retry-After`` seconds or an HTTP date.

    Returns None when the server gave no (usable) hint; never a negative number.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / _MS_PER_SECOND)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - clock())


def error_detail(body: str) -> str:
    """The human message inside an error body (OpenAI and Anthropic both use ``{"error": {"message"}}``)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:MAX_ERROR_DETAIL_CHARS] or "empty error body"
    if isinstance(data, Mapping):
        err = data.get("error", data)
        if isinstance(err, Mapping) and isinstance(err.get("message"), str):
            return str(err["message"])[:MAX_ERROR_DETAIL_CHARS]
        if isinstance(err, str):
            return err[:MAX_ERROR_DETAIL_CHARS]
    return body.strip()[:MAX_ERROR_DETAIL_CHARS]


def error_from_status(
    status: int, detail: str, endpoint: Endpoint, *, retry_after: float | None = None
) -> ProviderError:
    """The typed exception for an HTTP error status (4xx/5xx)."""
    detail = endpoint.scrub(detail)
    labels: dict[str, Any] = {"model": endpoint.model, "provider": endpoint.provider, "status_code": status}
    if status == _RATE_LIMIT_STATUS:
        return RateLimitError(detail, retry_after=retry_after, **labels)
    if status in _AUTH_STATUSES:
        return AuthenticationError(f"{detail} — check the API key", **labels)
    if status in _BAD_REQUEST_STATUSES:
        return BadRequestError(detail, **labels)
    if status == _TIMEOUT_STATUS:
        return ProviderTimeoutError(detail, **labels)
    if status >= _SERVER_ERROR_MIN or status in _RETRIABLE_CLIENT_STATUSES:
        return ProviderUnavailableError(detail, **labels)
    return PermanentProviderError(detail, **labels)


def error_from_response(response: httpx.Response, endpoint: Endpoint) -> ProviderError:
    """The typed exception for a (fully read) HTTP error response."""
    return error_from_status(
        response.status_code,
        error_detail(response.text),
        endpoint,
        retry_after=parse_retry_after(response.headers),
    )


def error_from_redirect(response: httpx.Response, endpoint: Endpoint) -> MalformedResponseError:
    """A 3xx answer: the endpoint moved. Redirects are not followed on purpose (the key would go along to
    wherever the server points), so the message says where to point ``base_url`` instead."""
    location = response.headers.get("location")
    where = f" to {redact_url(location)}" if location else ""
    return endpoint.malformed(
        f"the endpoint answered with a redirect{where} instead of a completion; set base_url to the final "
        "address (redirects are not followed, so the key is never sent to another host)",
        status_code=response.status_code,
    )


def error_from_transport(exc: httpx.RequestError, endpoint: Endpoint) -> ProviderError:
    """Timeouts become :class:`ProviderTimeoutError`; refused/reset connections :class:`ProviderUnavailableError`;
    a body httpx cannot decode (``Content-Encoding: gzip`` on plain text) :class:`MalformedResponseError`."""
    labels: dict[str, Any] = {"model": endpoint.model, "provider": endpoint.provider}
    if isinstance(exc, httpx.LocalProtocolError):
        # h11 quotes the offending header value, which is usually the key: never repeat its message.
        return BadRequestError("the request could not be sent (an illegal header value?)", **labels)
    what = endpoint.scrub(f"{type(exc).__name__}: {exc}".rstrip(": "))
    if isinstance(exc, httpx.DecodingError):
        return endpoint.malformed(f"the answer could not be decoded ({what})")
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeoutError(f"no answer in time ({what})", **labels)
    return ProviderUnavailableError(f"could not reach the endpoint ({what})", **labels)


def decode_json(text: str, endpoint: Endpoint) -> Any:
    """Parse a response body, or raise :class:`MalformedResponseError` quoting its start."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        snippet = text.strip()[:MAX_ERROR_DETAIL_CHARS] or "<empty body>"
        raise endpoint.malformed(f"expected JSON, got: {snippet}") from None


def check_status(response: httpx.Response, endpoint: Endpoint) -> None:
    """Raise the typed error for a (fully read) answer that is not a 2xx success."""
    if response.status_code >= httpx.codes.BAD_REQUEST:
        raise error_from_response(response, endpoint)
    if response.status_code >= _REDIRECT_MIN:
        raise error_from_redirect(response, endpoint)


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    endpoint: Endpoint,
) -> Any:
    """POST a JSON body and return the decoded JSON answer; every failure is a typed ProviderError."""
    try:
        response = await client.post(url, json=body, headers=dict(headers))
    except httpx.LocalProtocolError as exc:
        raise error_from_transport(exc, endpoint) from None  # its message quotes the header value
    except httpx.RequestError as exc:
        raise error_from_transport(exc, endpoint) from exc
    check_status(response, endpoint)
    return decode_json(response.text, endpoint)
