"""What every provider that speaks JSON over HTTP to one endpoint shares (OpenAI-compatible, Anthropic).

:class:`HttpJsonProvider` holds the provider's identity, its request headers and a lazily built
``httpx.AsyncClient``, and does the timed POST and the SSE stream with every failure mapped to a typed
:class:`~cascadeflow.errors.ProviderError`. A wire format subclasses it with its URL, its request body and its
response parsing. :func:`resolve_base_url` and :func:`resolve_api_key` turn a ``ModelConfig`` plus a provider
preset into the endpoint, reading the environment when the provider is built (never at import).

The key and any extra header values stay :class:`~cascadeflow.secret.Secret` until :meth:`HttpJsonProvider.
request_headers` builds each request's headers: the one place their values are read.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncGenerator, Mapping
from typing import Any, Final

import httpx

from cascadeflow.config import ModelConfig
from cascadeflow.errors import ConfigError
from cascadeflow.providers.http_errors import ClientHolder, Endpoint, post_json
from cascadeflow.providers.registry import ProviderPreset
from cascadeflow.providers.sse import SSEEvent, stream_events
from cascadeflow.secret import MASK, Secret, as_secret, has_url_credentials, redact_url, redact_urls

_MS_PER_SECOND: Final = 1000.0
_HTTPX_LOGGER: Final = "httpx"


class _RedactUrlCredentials(logging.Filter):
    """Masks URL credentials in a log record's message (httpx logs every request URL at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to logging's own error handling
            return True
        redacted = redact_urls(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact_httpx_logs() -> None:
    """Install the URL-credential filter on httpx's logger, once per process.

    httpx writes ``HTTP Request: POST <url>`` for every call; with ``https://user:pass@host`` or ``?key=`` in the
    URL that line would carry the credential. Logging is process-wide by nature, so the filter is too; it only
    rewrites messages that contain credentials and is installed only when a provider's URL has some.
    """
    logger = logging.getLogger(_HTTPX_LOGGER)
    if not any(isinstance(f, _RedactUrlCredentials) for f in logger.filters):
        logger.addFilter(_RedactUrlCredentials())


def join_url(base_url: str, path: str) -> str:
    """``base_url`` + ``/path``, keeping a query string (``?api-version=``, ``?key=``) after the path."""
    base, sep, query = base_url.partition("?")
    return f"{base.rstrip('/')}/{path.lstrip('/')}{sep}{query}"


def resolve_base_url(config: ModelConfig, preset: ProviderPreset) -> str:
    """config.base_url, else the preset's base-URL env var, else the preset's default."""
    env_url = os.environ.get(preset.base_url_env, "").strip() if preset.base_url_env else ""
    base = config.base_url or env_url or preset.base_url
    if not base:
        hint = f" or set {preset.base_url_env}" if preset.base_url_env else ""
        raise ConfigError("ModelConfig.base_url", f"provider {preset.name!r} needs a base URL: pass base_url={hint}")
    field = "ModelConfig.base_url" if config.base_url else str(preset.base_url_env)
    if MASK in base:
        raise ConfigError(field, "its credentials were redacted (configs drop them when pickled); pass base_url again")
    if not base.startswith(("http://", "https://")) or any(ch.isspace() or not ch.isprintable() for ch in base):
        raise ConfigError(field, f"must be an http(s) URL without spaces, got {redact_url(base)!r}")
    return base.rstrip("/")


def resolve_api_key(config: ModelConfig, preset: ProviderPreset, base_url: str) -> Secret | None:
    """config.api_key, else the preset's env var; missing is an error only against the vendor's own URL.

    The key is checked as it is read: a newline or non-ASCII character is a :class:`ConfigError` naming the
    variable (e.g. ``OPENAI_API_KEY``) or ``ModelConfig.api_key``, never quoting the key.
    """
    key = config.secret_key
    found = preset.key_from_env() if key is None else None
    if found is not None:
        key = as_secret(found[1], source=found[0])
    if key is not None and key.is_redacted:
        key.reveal()  # raises the ConfigError that explains the redaction
    default_url = (preset.base_url or "").rstrip("/")
    if key is None and preset.requires_key and base_url == default_url:
        raise ConfigError(
            "ModelConfig.api_key",
            f"provider {preset.name!r} needs an API key: set the {' or '.join(preset.key_envs)} environment variable "
            f"or pass api_key= (a custom base_url, e.g. a local server, may go without one)",
        )
    return key


class HttpJsonProvider:
    """One model behind one JSON-over-HTTP endpoint. Pass ``client`` (or ``transport``) to route calls
    elsewhere, e.g. in tests; an injected client is used as is and never closed here.

    ``key`` goes into the ``key_header`` header (after ``key_prefix``, e.g. ``"Bearer "``) of each request;
    header values given as :class:`Secret` are revealed there too, and scrubbed from every error message.
    """

    def __init__(
        self,
        model: str,
        *,
        url: str,
        provider: str,
        headers: Mapping[str, str | Secret],
        timeout_s: float,
        client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
        key: Secret | None = None,
        key_header: str = "Authorization",
        key_prefix: str = "",
        connect_timeout_s: float | None = None,
    ) -> None:
        self.model = model
        self.provider = provider
        self.url = url
        self._headers = dict(headers)
        self._key = key
        self._key_header = key_header
        self._key_prefix = key_prefix
        secrets = tuple(v for v in self._headers.values() if isinstance(v, Secret))
        self.endpoint = Endpoint(provider=provider, model=model, secrets=(*secrets, *((key,) if key else ())))
        self._http = ClientHolder(client, transport, timeout_s, connect_timeout_s=connect_timeout_s,
                                  plain_http=url.lower().startswith("http://"))
        if has_url_credentials(url):
            redact_httpx_logs()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, provider={self.provider!r}, url={redact_url(self.url)!r})"

    def request_headers(self) -> dict[str, str]:
        """This request's headers: the only place the key and secret header values are read."""
        headers = {k: v.reveal() if isinstance(v, Secret) else v for k, v in self._headers.items()}
        if self._key is not None:
            headers[self._key_header] = self._key_prefix + self._key.reveal()
        return headers

    async def post(self, body: Mapping[str, Any]) -> tuple[Any, float]:
        """POST ``body``; the decoded JSON answer and the call's latency in ms (failures are typed)."""
        started = time.perf_counter()
        data = await post_json(
            self._http.client, self.url, body=body, headers=self.request_headers(), endpoint=self.endpoint
        )
        return data, (time.perf_counter() - started) * _MS_PER_SECOND

    def events(self, body: Mapping[str, Any]) -> AsyncGenerator[SSEEvent, None]:
        """POST ``body`` and stream the answer's server-sent events (close it with ``aclosing``)."""
        return stream_events(
            self._http.client, self.url, body=body, headers=self.request_headers(), endpoint=self.endpoint
        )

    async def aclose(self) -> None:
        await self._http.aclose()
