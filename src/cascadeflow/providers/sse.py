"""Server-sent events: a line parser and a POST-and-stream helper with typed errors.

Both OpenAI-compatible servers and Anthropic stream answers as SSE. The parser follows the WHATWG rules the
providers rely on: ``field: value`` lines, ``:`` comments (llama.cpp's pings), multi-line ``data``, and an
event is dispatched only at a blank line — so a stream cut mid-event yields nothing partial, and the wire
provider notices the missing end marker and raises :class:`~cascadeflow.errors.StreamInterruptedError`. As the
spec says, an event without any ``data`` line (a bare ``event: ping``) is not dispatched at all.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from cascadeflow.errors import StreamInterruptedError
from cascadeflow.providers.http_errors import Endpoint, check_status, error_from_transport


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its type (``message`` when the server named none) and its data text."""

    event: str
    data: str
    id: str | None = None


class SSEDecoder:
    """Feed it lines (without their newline); it returns an event whenever a blank line completes one."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, line: str) -> SSEEvent | None:
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        # "retry" and unknown fields are ignored, as the spec says.
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:  # WHATWG: an empty data buffer resets the event type and dispatches nothing
            self._event = ""
            return None
        event = SSEEvent(event=self._event or "message", data="\n".join(self._data), id=self._id)
        self._event, self._data = "", []
        return event


async def iter_sse(lines: AsyncIterator[str]) -> AsyncIterator[SSEEvent]:
    """Decode an async stream of lines into events; an unfinished trailing event is dropped."""
    decoder = SSEDecoder()
    async for line in lines:
        event = decoder.feed(line)
        if event is not None:
            yield event


async def stream_events(
    client: httpx.AsyncClient,
    url: str,
    *,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    endpoint: Endpoint,
) -> AsyncGenerator[SSEEvent, None]:
    """POST ``body`` and yield the answer's SSE events.

    HTTP errors and redirects are mapped like :func:`~cascadeflow.providers.http_errors.post_json`; a transport
    failure after the first event becomes :class:`StreamInterruptedError` (the answer is incomplete, not
    unreachable); a body httpx cannot decode is a :class:`~cascadeflow.errors.MalformedResponseError`.
    """
    started = False
    try:
        async with client.stream("POST", url, json=dict(body), headers=dict(headers)) as response:
            if response.status_code >= httpx.codes.MULTIPLE_CHOICES:
                await response.aread()
                check_status(response, endpoint)
            async for event in iter_sse(response.aiter_lines()):
                started = True
                yield event
    except httpx.LocalProtocolError as exc:
        raise error_from_transport(exc, endpoint) from None  # its message quotes the header value
    except httpx.TransportError as exc:
        if not started:
            raise error_from_transport(exc, endpoint) from exc
        raise StreamInterruptedError(
            endpoint.scrub(f"the stream broke off: {type(exc).__name__}: {exc}"),
            model=endpoint.model,
            provider=endpoint.provider,
        ) from exc
    except httpx.RequestError as exc:  # DecodingError and the rest: not the promised stream
        raise error_from_transport(exc, endpoint) from exc
