"""OpenAI-compatible chat completions over the gateway's own HTTP client (:mod:`cascadeflow.server.upstream`).

Same wire format and the same typed errors as :class:`~cascadeflow.providers.openai_compatible.
OpenAICompatibleProvider` — it reuses that module's body builder and answer/stream parsers and the status mapping
of :mod:`~cascadeflow.providers.http_errors` — with a transport that costs a fraction of httpx's CPU. The agent
wraps it in the same resilience layer (retries, time limits, circuit breaker) as any other provider. Sampling
fields a client sent that the cascade does not model (top_p, seed, ...) are forwarded from the request metadata.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from cascadeflow.config import ModelConfig
from cascadeflow.errors import (
    ConfigError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    StreamInterruptedError,
)
from cascadeflow.providers.http_base import resolve_api_key, resolve_base_url
from cascadeflow.providers.http_errors import Endpoint, decode_json, error_detail, error_from_status, parse_retry_after
from cascadeflow.providers.openai_compatible import (
    DEFAULT_TOP_LOGPROBS,
    ChatStreamState,
    build_chat_body,
    parse_chat_completion,
)
from cascadeflow.providers.registry import ProviderPreset
from cascadeflow.providers.sse import SSEDecoder
from cascadeflow.secret import Secret
from cascadeflow.server.chat_request import EXTRA_BODY_KEY
from cascadeflow.server.upstream import ConnectionPool, Response, UpstreamError
from cascadeflow.types import Chunk, Completion, CompletionRequest

_DONE: Final = "[DONE]"
_MS: Final = 1000.0
_REDIRECT_MIN: Final = 300
_BAD_REQUEST: Final = 400
_ERROR_BODY_LIMIT: Final = 64 * 1024
"""An error answer is read up to 64 KiB (its message); the rest would only be an HTML page from a proxy."""
_KEEP: Final = frozenset({"model", "messages", "stream", "stream_options"})


def _labels(endpoint: Endpoint) -> dict[str, Any]:
    return {"model": endpoint.model, "provider": endpoint.provider}


def transport_error(exc: UpstreamError, endpoint: Endpoint, *, streaming: bool = False) -> ProviderError:
    """A transport failure as cascadeflow's typed error (the message scrubbed of the endpoint's secrets)."""
    what = endpoint.scrub(str(exc))
    if exc.kind == "timeout":
        return ProviderTimeoutError(f"no answer in time ({what})", **_labels(endpoint))
    if streaming:
        return StreamInterruptedError(f"the stream broke off ({what})", **_labels(endpoint))
    if exc.kind in ("protocol", "too_large"):
        return endpoint.malformed(f"not a usable HTTP answer ({what})")
    return ProviderUnavailableError(f"could not reach the endpoint ({what})", **_labels(endpoint))


class UpstreamOpenAIProvider:
    """One model behind an OpenAI-compatible ``/chat/completions`` endpoint."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: Secret | None = None,
        provider: str = "openai",
        timeout_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        headers: Mapping[str, str | Secret] | None = None,
        top_logprobs: int = DEFAULT_TOP_LOGPROBS,
    ) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("ModelConfig.base_url", "must be an http(s) URL with a host")
        tls = parts.scheme == "https"
        self.model = model
        self.provider = provider
        self.top_logprobs = top_logprobs
        self._timeout = timeout_s
        self._pool = ConnectionPool(parts.hostname, parts.port or (443 if tls else 80), tls=tls,
                                    connect_timeout=min(connect_timeout_s, timeout_s))
        path = f"{parts.path}/chat/completions" + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        self._key = api_key
        secrets = tuple(v for v in self._headers.values() if isinstance(v, Secret))
        self.endpoint = Endpoint(provider, model, (*secrets, *((api_key,) if api_key else ())))
        self._request_line = f"POST {path} HTTP/1.1\r\nHost: {self._pool.host_header}\r\n".encode()

    @classmethod
    def from_config(cls, config: ModelConfig, preset: ProviderPreset) -> UpstreamOpenAIProvider:
        base_url = resolve_base_url(config, preset)
        return cls(
            config.name, base_url=base_url, api_key=resolve_api_key(config, preset, base_url),
            provider=config.provider, timeout_s=config.timeout_s, connect_timeout_s=config.connect_timeout_s,
            headers=config.options.get("headers"),
            top_logprobs=config.options.get("top_logprobs", DEFAULT_TOP_LOGPROBS),
        )

    def __repr__(self) -> str:
        return f"UpstreamOpenAIProvider(model={self.model!r}, provider={self.provider!r})"

    def _head(self, length: int, accept: str) -> bytes:
        lines = [f"{k}: {v.reveal() if isinstance(v, Secret) else v}\r\n" for k, v in self._headers.items()]
        if self._key is not None:
            lines.append(f"Authorization: Bearer {self._key.reveal()}\r\n")
        lines.append(f"Accept: {accept}\r\nContent-Length: {length}\r\n\r\n")
        return self._request_line + "".join(lines).encode("latin-1")

    def _body(self, request: CompletionRequest, **more: Any) -> bytes:
        body = build_chat_body(request, self.model, top_logprobs=self.top_logprobs)
        extra = request.metadata.get(EXTRA_BODY_KEY)
        if isinstance(extra, Mapping):
            body.update({k: v for k, v in extra.items() if k not in _KEEP})
        body.update(more)
        return json.dumps(body, separators=(",", ":")).encode()

    async def _send(self, body: bytes, accept: str) -> Response:
        try:
            response = await self._pool.request(self._head(len(body), accept), body, limit_s=self._timeout)
        except UpstreamError as exc:
            raise transport_error(exc, self.endpoint) from None
        if response.status >= _REDIRECT_MIN:
            try:
                text = (await response.read(_ERROR_BODY_LIMIT)).decode("utf-8", "replace")
            except UpstreamError:
                text = ""
            finally:
                response.close()
            if response.status < _BAD_REQUEST:
                raise self.endpoint.malformed("the endpoint answered with a redirect; set base_url to the final "
                                              "address (redirects are not followed)", status_code=response.status)
            raise error_from_status(response.status, error_detail(text), self.endpoint,
                                    retry_after=parse_retry_after(response.header_map()))
        return response

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        response = await self._send(self._body(request), "application/json")
        try:
            raw = await response.read()
        except UpstreamError as exc:
            raise transport_error(exc, self.endpoint) from None
        finally:
            response.close()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.endpoint.malformed("the answer is not UTF-8 text") from None
        data = decode_json(text, self.endpoint)
        return parse_chat_completion(data, self.endpoint, latency_ms=(time.perf_counter() - started) * _MS)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        body = self._body(request, stream=True, stream_options={"include_usage": True})
        response = await self._send(body, "text/event-stream")
        state = ChatStreamState(self.endpoint)
        decoder = SSEDecoder()
        pending = b""
        try:
            async for data in response.iter_chunks():
                lines = (pending + data).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    try:
                        event = decoder.feed(line.decode("utf-8"))
                    except UnicodeDecodeError:
                        raise self.endpoint.malformed("the stream is not UTF-8 text") from None
                    if event is None:
                        continue
                    if event.data.strip() == _DONE:
                        state.done = True
                        break
                    chunk = state.feed(decode_json(event.data, self.endpoint))
                    if chunk is not None:
                        yield chunk
                if state.done:
                    break
        except UpstreamError as exc:
            raise transport_error(exc, self.endpoint, streaming=True) from None
        finally:
            response.close()
        yield state.final_chunk()

    async def aclose(self) -> None:
        await self._pool.aclose()

