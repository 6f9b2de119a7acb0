"""Reach any of LiteLLM's 100+ backends through one optional adapter (``pip install "cascadeflow[litellm]"``).

LiteLLM answers in OpenAI's shape, so the OpenAI-compatible parsers are reused. The extra pins
``litellm==1.81.0``: releases 1.82.7 and 1.82.8 on PyPI were compromised (malicious code) and must never be
installed. litellm is imported only inside :meth:`LiteLLMProvider.from_config`, so nothing pays for it unless used.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from cascadeflow.config import ModelConfig
from cascadeflow.errors import ConfigError, ProviderError, ProviderTimeoutError
from cascadeflow.providers.http_errors import Endpoint, error_from_status, parse_retry_after
from cascadeflow.providers.openai_compatible import (
    ChatStreamState,
    build_chat_body,
    parse_chat_completion,
    parse_cost,
)
from cascadeflow.providers.registry import ProviderPreset
from cascadeflow.secret import Secret, as_secret, redact_url
from cascadeflow.types import Chunk, Completion, CompletionRequest

if TYPE_CHECKING:
    from cascadeflow.providers.resources import ProviderResources

INSTALL_HINT = 'provider "litellm" needs the litellm package: pip install "cascadeflow[litellm]"'
_MS_PER_SECOND = 1000.0


def _as_dict(obj: Any, endpoint: Endpoint) -> Mapping[str, Any]:
    """LiteLLM returns pydantic ``ModelResponse`` objects; plain dicts (e.g. from mocks) pass through."""
    if isinstance(obj, Mapping):
        return obj
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        data = dump()
        if isinstance(data, Mapping):
            return data
    raise endpoint.malformed(f"unexpected litellm answer type {type(obj).__name__}")


def map_litellm_error(exc: Exception, endpoint: Endpoint) -> ProviderError | None:
    """LiteLLM's exceptions carry an HTTP ``status_code``; map those, and timeouts. Others are not ours to map."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        retry_after = parse_retry_after(headers) if isinstance(headers, Mapping) else None
        return error_from_status(status, str(exc), endpoint, retry_after=retry_after)
    if isinstance(exc, TimeoutError):
        message = endpoint.scrub(str(exc)) or "timed out"
        return ProviderTimeoutError(message, model=endpoint.model, provider=endpoint.provider)
    return None


class LiteLLMProvider:
    """Calls ``litellm.acompletion``; ``module`` is the imported litellm (or a stand-in with ``acompletion``)."""

    def __init__(
        self,
        model: str,
        *,
        module: Any,
        provider: str = "litellm",
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.model = model
        self.provider = provider
        self._litellm = module
        self._key = as_secret(api_key, source="api_key")
        self.endpoint = Endpoint(provider=provider, model=model, secrets=(self._key,) if self._key else ())
        self._extra: dict[str, Any] = {"timeout": timeout_s}
        if base_url:
            self._extra["api_base"] = base_url

    def __repr__(self) -> str:
        base = self._extra.get("api_base")
        where = f", api_base={redact_url(base)!r}" if base else ""
        return f"{type(self).__name__}(model={self.model!r}, provider={self.provider!r}{where})"

    @classmethod
    def from_config(
        cls, config: ModelConfig, preset: ProviderPreset, resources: ProviderResources | None = None
    ) -> LiteLLMProvider:
        try:
            import litellm
        except ImportError as exc:
            raise ConfigError("ModelConfig.provider", INSTALL_HINT) from exc
        key = config.secret_key
        found = preset.key_from_env() if key is None else None  # read now, not at import
        if found is not None:
            key = as_secret(found[1], source=found[0])
        return cls(
            config.name,
            module=litellm,
            provider=config.provider,
            api_key=key,
            base_url=config.base_url,
            timeout_s=config.timeout_s,
        )

    def _kwargs(self, request: CompletionRequest) -> dict[str, Any]:
        """litellm's call arguments; the key is revealed here, for this call only."""
        kwargs = {**build_chat_body(request, self.model), **self._extra}
        if self._key is not None:
            kwargs["api_key"] = self._key.reveal()
        return kwargs

    async def _call(self, **kwargs: Any) -> Any:
        try:
            return await self._litellm.acompletion(**kwargs)
        except Exception as exc:
            mapped = map_litellm_error(exc, self.endpoint)
            if mapped is None:
                raise
            raise mapped from exc

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        answer = await self._call(**self._kwargs(request))
        latency = (time.perf_counter() - started) * _MS_PER_SECOND
        completion = parse_chat_completion(_as_dict(answer, self.endpoint), self.endpoint, latency_ms=latency)
        # LiteLLM prices the call itself (its own price map) and keeps the result in _hidden_params.
        hidden = getattr(answer, "_hidden_params", None)
        if completion.cost_usd is None and isinstance(hidden, Mapping):
            cost = parse_cost({"cost": hidden.get("response_cost")})
            if cost is not None:
                return replace(completion, cost_usd=cost)
        return completion

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        state = ChatStreamState(self.endpoint)
        chunks = await self._call(**self._kwargs(request), stream=True, stream_options={"include_usage": True})
        try:
            async for raw in chunks:
                chunk = state.feed(_as_dict(raw, self.endpoint))
                if chunk is not None:
                    yield chunk
        except ProviderError:
            raise
        except Exception as exc:
            mapped = map_litellm_error(exc, self.endpoint)
            if mapped is None:
                raise
            raise mapped from exc
        yield state.final_chunk()

    async def aclose(self) -> None:
        return None
