"""What every provider that speaks JSON over HTTP to one endpoint shares (OpenAI-compatible, Anthropic).

:class:`HttpJsonProvider` holds the provider's identity, its request headers and a lazily built
``httpx.AsyncClient``, and does the timed POST and the SSE stream with every failure mapped to a typed
:class:`~cascadeflow.errors.ProviderError`. A wire format subclasses it with its URL, its request body and its
response parsing. :func:`resolve_base_url` and :func:`resolve_api_key` turn a ``ModelConfig`` plus a provider
preset into the endpoint, reading the environment when the provider is built (never at import).
"""

from __future__ import annotations

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

_MS_PER_SECOND: Final = 1000.0


def resolve_base_url(config: ModelConfig, preset: ProviderPreset) -> str:
    """config.base_url, else the preset's base-URL env var, else the preset's default."""
    env_url = os.environ.get(preset.base_url_env, "").strip() if preset.base_url_env else ""
    base = config.base_url or env_url or preset.base_url
    if not base:
        hint = f" or set {preset.base_url_env}" if preset.base_url_env else ""
        raise ConfigError("ModelConfig.base_url", f"provider {preset.name!r} needs a base URL: pass base_url={hint}")
    return base.rstrip("/")


def resolve_api_key(config: ModelConfig, preset: ProviderPreset, base_url: str) -> str | None:
    """config.api_key, else the preset's env var; missing is an error only against the vendor's own URL."""
    env_key = os.environ.get(preset.api_key_env, "").strip() if preset.api_key_env else ""
    key = config.api_key or env_key or None
    default_url = (preset.base_url or "").rstrip("/")
    if key is None and preset.requires_key and base_url == default_url:
        raise ConfigError(
            "ModelConfig.api_key",
            f"provider {preset.name!r} needs an API key: set the {preset.api_key_env} environment variable "
            f"or pass api_key= (a custom base_url, e.g. a local server, may go without one)",
        )
    return key


class HttpJsonProvider:
    """One model behind one JSON-over-HTTP endpoint. Pass ``client`` (or ``transport``) to route calls
    elsewhere, e.g. in tests; an injected client is used as is and never closed here."""

    def __init__(
        self,
        model: str,
        *,
        url: str,
        provider: str,
        headers: Mapping[str, str],
        timeout_s: float,
        client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.model = model
        self.provider = provider
        self.url = url
        self.endpoint = Endpoint(provider=provider, model=model)
        self._headers = dict(headers)
        self._http = ClientHolder(client, transport, timeout_s)

    async def post(self, body: Mapping[str, Any]) -> tuple[Any, float]:
        """POST ``body``; the decoded JSON answer and the call's latency in ms (failures are typed)."""
        started = time.perf_counter()
        data = await post_json(self._http.client, self.url, body=body, headers=self._headers, endpoint=self.endpoint)
        return data, (time.perf_counter() - started) * _MS_PER_SECOND

    def events(self, body: Mapping[str, Any]) -> AsyncGenerator[SSEEvent, None]:
        """POST ``body`` and stream the answer's server-sent events (close it with ``aclosing``)."""
        return stream_events(self._http.client, self.url, body=body, headers=self._headers, endpoint=self.endpoint)

    async def aclose(self) -> None:
        await self._http.aclose()
