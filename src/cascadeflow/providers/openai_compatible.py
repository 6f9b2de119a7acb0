"""One provider for every server that speaks OpenAI's ``/chat/completions`` API.

OpenAI, Groq, Together, DeepSeek, OpenRouter, vLLM, Ollama and llama.cpp's server differ only in base URL, key
variable and small quirks, which live in :mod:`cascadeflow.providers.registry` presets. The payload builder and
the response/stream parsers are plain functions so the LiteLLM adapter (OpenAI-shaped too) reuses them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from cascadeflow.config import ModelConfig
from cascadeflow.errors import MalformedResponseError, StreamInterruptedError
from cascadeflow.providers.http_base import HttpJsonProvider, resolve_api_key, resolve_base_url
from cascadeflow.providers.http_errors import Endpoint, decode_json, error_detail
from cascadeflow.providers.registry import ProviderPreset
from cascadeflow.types import Chunk, Completion, CompletionRequest, TokenLogprob, ToolCall, Usage

# One alternative per token is enough for confidence checks (they read the chosen token's logprob); llama.cpp
# returns no logprobs at all unless top_logprobs is set. Override per model with options={"top_logprobs": n}.
DEFAULT_TOP_LOGPROBS = 1
_DONE = "[DONE]"
_MS_PER_SECOND = 1000.0


def build_chat_body(
    request: CompletionRequest, model: str, *, top_logprobs: int = DEFAULT_TOP_LOGPROBS
) -> dict[str, Any]:
    """The JSON body of a chat-completions call; messages keep their roles, tool calls and tool ids."""
    body: dict[str, Any] = {"model": model, "messages": [m.to_openai() for m in request.messages]}
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.stop:
        body["stop"] = list(request.stop)
    if request.tools:
        body["tools"] = [t.to_openai() for t in request.tools]
    if request.tool_choice is not None:
        body["tool_choice"] = request.tool_choice
    if request.response_format == "json":
        body["response_format"] = {"type": "json_object"}
    if request.logprobs:
        body["logprobs"] = True
        body["top_logprobs"] = top_logprobs
    return body


def _malformed(why: str, endpoint: Endpoint) -> MalformedResponseError:
    return MalformedResponseError(why, model=endpoint.model, provider=endpoint.provider)


def parse_logprobs(raw: Any) -> tuple[TokenLogprob, ...] | None:
    """``choices[i].logprobs.content[].{token, logprob}``; None when the server sent none."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("content"), list):
        return None
    return tuple(
        TokenLogprob(token=str(item.get("token", "")), logprob=float(item["logprob"]))
        for item in raw["content"]
        if isinstance(item, Mapping) and isinstance(item.get("logprob"), int | float)
    )


def parse_usage(raw: Any) -> Usage | None:
    if not isinstance(raw, Mapping):
        return None
    return Usage(input_tokens=int(raw.get("prompt_tokens") or 0), output_tokens=int(raw.get("completion_tokens") or 0))


def parse_cost(raw: Any) -> Decimal | None:
    """The call's cost when the server reports one in ``usage.cost`` (OpenRouter does, in USD); else None.
    A negative or non-numeric value is ignored rather than trusted."""
    cost = raw.get("cost") if isinstance(raw, Mapping) else None
    if isinstance(cost, bool) or not isinstance(cost, int | float | str):
        return None
    try:
        value = Decimal(str(cost))
    except ArithmeticError:
        return None
    return value if value.is_finite() and value >= 0 else None


def _parse_tool_calls(raw: Any, endpoint: Endpoint) -> tuple[ToolCall, ...]:
    calls: list[ToolCall] = []
    for item in raw or ():
        fn = item.get("function") if isinstance(item, Mapping) else None
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            raise _malformed(f"tool call without a function name: {item!r}", endpoint)
        calls.append(ToolCall(id=str(item.get("id") or ""), name=fn["name"], arguments=str(fn.get("arguments") or "")))
    return tuple(calls)


def parse_chat_completion(data: Any, endpoint: Endpoint, *, latency_ms: float = 0.0) -> Completion:
    """Turn a chat-completions JSON answer into a :class:`Completion`, or raise MalformedResponseError."""
    choices = data.get("choices") if isinstance(data, Mapping) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise _malformed(f"the answer has no choices: {str(data)[:200]}", endpoint)
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, Mapping):
        raise _malformed("choices[0] has no message", endpoint)
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise _malformed(f"message content is not text: {type(content).__name__}", endpoint)
    completion = Completion(
        content=content or "",
        model=str(data.get("model") or endpoint.model),
        finish_reason=str(choice.get("finish_reason") or "stop"),
        usage=parse_usage(data.get("usage")) or Usage(),
        tool_calls=_parse_tool_calls(message.get("tool_calls"), endpoint),
        logprobs=parse_logprobs(choice.get("logprobs")),
        latency_ms=latency_ms,
        cost_usd=parse_cost(data.get("usage")),
    )
    if completion.is_empty:
        raise _malformed(f"no content and no tool calls (finish_reason={completion.finish_reason!r})", endpoint)
    return completion


@dataclass
class _ToolCallParts:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class ChatStreamState:
    """Folds streamed ``chat.completion.chunk`` payloads; :meth:`final_chunk` checks the stream really ended."""

    endpoint: Endpoint
    finish_reason: str | None = None
    usage: Usage | None = None
    cost_usd: Decimal | None = None
    done: bool = False
    produced_text: bool = False
    _calls: dict[int, _ToolCallParts] = field(default_factory=dict)

    def feed(self, payload: Any) -> Chunk | None:
        """One decoded chunk payload → a text Chunk to yield now (or None)."""
        if not isinstance(payload, Mapping):
            raise _malformed(f"stream chunk is not an object: {str(payload)[:200]}", self.endpoint)
        if "error" in payload:
            raise StreamInterruptedError(
                f"the server reported an error mid-stream: {error_detail(json.dumps(payload))}",
                model=self.endpoint.model,
                provider=self.endpoint.provider,
            )
        self.usage = parse_usage(payload.get("usage")) or self.usage
        reported = parse_cost(payload.get("usage"))
        if reported is not None:  # not `or`: a reported cost of 0 (a free model) is a cost, not "none"
            self.cost_usd = reported
        choices = payload.get("choices") or []
        if not choices or not isinstance(choices[0], Mapping):
            return None
        choice = choices[0]
        self.finish_reason = choice.get("finish_reason") or self.finish_reason
        delta = choice.get("delta") or {}
        for part in delta.get("tool_calls") or ():
            self._add_tool_delta(part)
        text = delta.get("content") or ""
        logprobs = parse_logprobs(choice.get("logprobs"))
        if not text and logprobs is None:
            return None
        self.produced_text = self.produced_text or bool(text.strip())
        return Chunk(text=text, logprobs=logprobs)

    def _add_tool_delta(self, part: Mapping[str, Any]) -> None:
        parts = self._calls.setdefault(int(part.get("index") or 0), _ToolCallParts())
        parts.id = part.get("id") or parts.id
        fn = part.get("function") or {}
        parts.name = fn.get("name") or parts.name
        if fn.get("arguments"):
            parts.arguments.append(fn["arguments"])

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(id=p.id, name=p.name, arguments="".join(p.arguments)) for _, p in sorted(self._calls.items())
        )

    def final_chunk(self) -> Chunk:
        if not self.done and self.finish_reason is None:
            raise StreamInterruptedError(
                "the stream ended without a finish_reason or [DONE]",
                model=self.endpoint.model,
                provider=self.endpoint.provider,
            )
        calls = self.tool_calls()
        if not self.produced_text and not calls:
            raise _malformed("the stream carried no content and no tool calls", self.endpoint)
        return Chunk(finish_reason=self.finish_reason or "stop", usage=self.usage, tool_calls=calls,
                     cost_usd=self.cost_usd)


class OpenAICompatibleProvider(HttpJsonProvider):
    """Chat completions over HTTP. Pass ``client`` (or ``transport``) to route calls elsewhere, e.g. in tests."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | None = None,
        provider: str = "openai",
        timeout_s: float = 60.0,
        headers: Mapping[str, str] | None = None,
        top_logprobs: int = DEFAULT_TOP_LOGPROBS,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        assistant_content_required: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.top_logprobs = top_logprobs
        self.assistant_content_required = assistant_content_required
        auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        super().__init__(model, url=f"{self.base_url}/chat/completions", provider=provider,
                         headers={"Accept": "application/json", **(headers or {}), **auth}, timeout_s=timeout_s,
                         client=client, transport=transport)

    @classmethod
    def from_config(
        cls,
        config: ModelConfig,
        preset: ProviderPreset,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> OpenAICompatibleProvider:
        """Build from a ModelConfig; base URL and key are read from the environment now, not at import."""
        base_url = resolve_base_url(config, preset)
        return cls(
            config.name,
            base_url=base_url,
            api_key=resolve_api_key(config, preset, base_url),
            provider=config.provider,
            timeout_s=config.timeout_s,
            headers=config.options.get("headers"),
            top_logprobs=int(config.options.get("top_logprobs", DEFAULT_TOP_LOGPROBS)),
            client=client,
            transport=transport,
            assistant_content_required=bool(preset.extra.get("assistant_content_required", False)),
        )

    def build_body(self, request: CompletionRequest) -> dict[str, Any]:
        body = build_chat_body(request, self.model, top_logprobs=self.top_logprobs)
        if self.assistant_content_required:  # e.g. llama-cpp-python's server: a tool-calling turn needs a string
            for message in body["messages"]:
                if message["role"] == "assistant" and message["content"] is None:
                    message["content"] = ""
        return body

    async def complete(self, request: CompletionRequest) -> Completion:
        data, latency = await self.post(self.build_body(request))
        return parse_chat_completion(data, self.endpoint, latency_ms=latency)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        body = {**self.build_body(request), "stream": True, "stream_options": {"include_usage": True}}
        state = ChatStreamState(self.endpoint)
        events = self.events(body)
        async with aclosing(events):
            async for event in events:
                if event.data.strip() == _DONE:
                    state.done = True
                    break
                chunk = state.feed(decode_json(event.data, self.endpoint))
                if chunk is not None:
                    yield chunk
        yield state.final_chunk()

