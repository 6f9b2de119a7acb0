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
from typing import TYPE_CHECKING, Any

import httpx

from cascadeflow.config import ModelConfig
from cascadeflow.errors import StreamInterruptedError
from cascadeflow.providers import wire
from cascadeflow.providers.http_base import HttpJsonProvider, join_url, resolve_api_key, resolve_base_url
from cascadeflow.providers.http_errors import Endpoint, decode_json, error_detail
from cascadeflow.providers.registry import ProviderPreset
from cascadeflow.secret import Secret, as_secret
from cascadeflow.types import Chunk, Completion, CompletionRequest, TokenLogprob, ToolCall, Usage

if TYPE_CHECKING:
    from cascadeflow.providers.resources import ProviderResources

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


def parse_logprobs(raw: Any, endpoint: Endpoint) -> tuple[TokenLogprob, ...] | None:
    """``choices[i].logprobs.content[].{token, logprob}``; None when the server sent none."""
    content = wire.mapping(raw, "logprobs", endpoint).get("content")
    if content is None:
        return None
    out: list[TokenLogprob] = []
    for i, item in enumerate(wire.items(content, "logprobs.content", endpoint)):
        entry = wire.mapping(item, f"logprobs.content[{i}]", endpoint)
        token = wire.text(entry.get("token"), f"logprobs.content[{i}].token", endpoint)
        out.append(TokenLogprob(token or "", wire.number(entry.get("logprob"), f"logprobs.content[{i}].logprob",
                                                          endpoint)))
    return tuple(out)


def parse_usage(raw: Any, endpoint: Endpoint) -> Usage | None:
    """``usage.{prompt_tokens, completion_tokens}``; None when the server sent no usage object."""
    if raw is None:
        return None
    usage = wire.mapping(raw, "usage", endpoint)
    return Usage(
        input_tokens=wire.count(usage.get("prompt_tokens"), "usage.prompt_tokens", endpoint),
        output_tokens=wire.count(usage.get("completion_tokens"), "usage.completion_tokens", endpoint),
    )


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


def _arguments(raw: Any, where: str, endpoint: Endpoint) -> str:
    """Tool-call arguments are JSON text; a server that sends the object itself gets it serialised."""
    if isinstance(raw, Mapping):
        return json.dumps(raw)
    return wire.text(raw, where, endpoint) or ""


def _parse_tool_calls(raw: Any, endpoint: Endpoint) -> tuple[ToolCall, ...]:
    calls: list[ToolCall] = []
    for i, item in enumerate(wire.items(raw, "message.tool_calls", endpoint)):
        where = f"message.tool_calls[{i}]"
        call = wire.mapping(item, where, endpoint)
        fn = wire.mapping(call.get("function"), f"{where}.function", endpoint)
        name = wire.text(fn.get("name"), f"{where}.function.name", endpoint)
        if not name:
            raise endpoint.malformed(f"{where} has no function name")
        call_id = call.get("id")
        calls.append(ToolCall(
            id=str(call_id) if isinstance(call_id, int) else wire.text(call_id, f"{where}.id", endpoint) or "",
            name=name,
            arguments=_arguments(fn.get("arguments"), f"{where}.function.arguments", endpoint),
        ))
    return tuple(calls)


def _first_choice(data: Mapping[str, Any], endpoint: Endpoint) -> Mapping[str, Any]:
    choices = data.get("choices")
    if choices is None and data.get("error") is not None:
        raise endpoint.malformed(f"the server answered with an error: {error_detail(json.dumps(data))}")
    if not isinstance(choices, list) or not choices:
        raise endpoint.malformed(f"the answer has no choices: {str(data)[:200]}")
    return wire.mapping(choices[0], "choices[0]", endpoint)


def parse_chat_completion(data: Any, endpoint: Endpoint, *, latency_ms: float = 0.0) -> Completion:
    """Turn a chat-completions JSON answer into a :class:`Completion`, or raise MalformedResponseError."""
    if not isinstance(data, Mapping):
        raise endpoint.malformed(f"the answer is not a JSON object: {str(data)[:200]}")
    choice = _first_choice(data, endpoint)
    message = choice.get("message")
    if not isinstance(message, Mapping):
        raise endpoint.malformed("choices[0] has no message")
    usage = data.get("usage")
    completion = Completion(
        content=wire.text(message.get("content"), "choices[0].message.content", endpoint) or "",
        model=wire.text(data.get("model"), "model", endpoint) or endpoint.model,
        finish_reason=wire.text(choice.get("finish_reason"), "choices[0].finish_reason", endpoint) or "stop",
        usage=parse_usage(usage, endpoint) or Usage(),
        tool_calls=_parse_tool_calls(message.get("tool_calls"), endpoint),
        logprobs=parse_logprobs(choice.get("logprobs"), endpoint),
        latency_ms=latency_ms,
        cost_usd=parse_cost(usage),
    )
    if completion.is_empty:
        raise endpoint.malformed(f"no content and no tool calls (finish_reason={completion.finish_reason!r})")
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
        endpoint = self.endpoint
        if not isinstance(payload, Mapping):
            raise endpoint.malformed(f"stream chunk is not an object: {str(payload)[:200]}")
        if payload.get("error") is not None:
            raise StreamInterruptedError(
                endpoint.scrub(f"the server reported an error mid-stream: {error_detail(json.dumps(payload))}"),
                model=endpoint.model,
                provider=endpoint.provider,
            )
        self.usage = parse_usage(payload.get("usage"), endpoint) or self.usage
        reported = parse_cost(payload.get("usage"))
        if reported is not None:  # not `or`: a reported cost of 0 (a free model) is a cost, not "none"
            self.cost_usd = reported
        choices = wire.items(payload.get("choices"), "choices", endpoint)
        if not choices:
            return None
        choice = wire.mapping(choices[0], "choices[0]", endpoint)
        self.finish_reason = wire.text(choice.get("finish_reason"), "choices[0].finish_reason", endpoint) or (
            self.finish_reason
        )
        delta = wire.mapping(choice.get("delta"), "choices[0].delta", endpoint)
        for i, part in enumerate(wire.items(delta.get("tool_calls"), "delta.tool_calls", endpoint)):
            self._add_tool_delta(wire.mapping(part, f"delta.tool_calls[{i}]", endpoint), f"delta.tool_calls[{i}]")
        text = wire.text(delta.get("content"), "choices[0].delta.content", endpoint) or ""
        logprobs = parse_logprobs(choice.get("logprobs"), endpoint)
        if not text and logprobs is None:
            return None
        self.produced_text = self.produced_text or bool(text.strip())
        return Chunk(text=text, logprobs=logprobs)

    def _add_tool_delta(self, part: Mapping[str, Any], where: str) -> None:
        endpoint = self.endpoint
        parts = self._calls.setdefault(wire.count(part.get("index"), f"{where}.index", endpoint), _ToolCallParts())
        call_id = part.get("id")
        parts.id = (str(call_id) if isinstance(call_id, int) else wire.text(call_id, f"{where}.id", endpoint)) or (
            parts.id
        )
        fn = wire.mapping(part.get("function"), f"{where}.function", endpoint)
        parts.name = wire.text(fn.get("name"), f"{where}.function.name", endpoint) or parts.name
        arguments = wire.text(fn.get("arguments"), f"{where}.function.arguments", endpoint)
        if arguments:
            parts.arguments.append(arguments)

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
        if any(not call.name for call in calls):
            raise self.endpoint.malformed("a streamed tool call has no function name")
        if not self.produced_text and not calls:
            raise self.endpoint.malformed("the stream carried no content and no tool calls")
        return Chunk(finish_reason=self.finish_reason or "stop", usage=self.usage, tool_calls=calls,
                     cost_usd=self.cost_usd)


class OpenAICompatibleProvider(HttpJsonProvider):
    """Chat completions over HTTP. Pass ``client`` (or ``transport``) to route calls elsewhere, e.g. in tests."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | Secret | None = None,
        provider: str = "openai",
        timeout_s: float = 60.0,
        headers: Mapping[str, str | Secret] | None = None,
        top_logprobs: int = DEFAULT_TOP_LOGPROBS,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        connect_timeout_s: float | None = None,
        assistant_content_required: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.top_logprobs = top_logprobs
        self.assistant_content_required = assistant_content_required
        super().__init__(model, url=join_url(self.base_url, "chat/completions"), provider=provider,
                         headers={"Accept": "application/json", **(headers or {})}, timeout_s=timeout_s,
                         client=client, transport=transport, key=as_secret(api_key, source="api_key"),
                         key_header="Authorization", key_prefix="Bearer ", connect_timeout_s=connect_timeout_s)

    @classmethod
    def from_config(
        cls,
        config: ModelConfig,
        preset: ProviderPreset,
        resources: ProviderResources | None = None,
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
            top_logprobs=config.options.get("top_logprobs", DEFAULT_TOP_LOGPROBS),
            client=client,
            transport=transport,
            connect_timeout_s=config.connect_timeout_s,
            assistant_content_required=preset.assistant_content_required,
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

