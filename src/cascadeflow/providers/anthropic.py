"""Anthropic's Messages API (``/v1/messages``), mapped to and from cascadeflow's OpenAI-shaped types.

The differences handled here: system messages travel in a top-level ``system`` field; tool results are
``tool_result`` blocks inside a user turn; assistant tool calls are ``tool_use`` blocks with parsed ``input``;
consecutive same-role turns are merged (the API requires alternating roles); ``max_tokens`` is mandatory.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import httpx

from cascadeflow.config import ModelConfig
from cascadeflow.errors import ConfigError, StreamInterruptedError
from cascadeflow.providers import wire
from cascadeflow.providers.http_base import HttpJsonProvider, join_url, resolve_api_key, resolve_base_url
from cascadeflow.providers.http_errors import Endpoint, decode_json, error_from_status
from cascadeflow.providers.registry import ProviderPreset
from cascadeflow.secret import Secret, as_secret
from cascadeflow.types import Chunk, Completion, CompletionRequest, Message, ToolCall, ToolSpec, Usage

if TYPE_CHECKING:
    from cascadeflow.providers.resources import ProviderResources

API_VERSION = "2023-06-01"  # the stable Messages API version; newer features opt in via anthropic-beta headers
# The API rejects calls without max_tokens; 1024 fits a normal chat answer without inviting runaway cost.
DEFAULT_MAX_TOKENS = 1024
# There is no JSON mode in the Messages API, so a JSON request is expressed as an instruction.
JSON_INSTRUCTION = "Answer with one valid JSON object and nothing else."
_MS_PER_SECOND = 1000.0
_OVERLOADED_STATUS = 529  # Anthropic's "overloaded_error": transient, like a 503

STOP_REASONS = MappingProxyType(
    {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
)
_ERROR_TYPES_TO_STATUS = MappingProxyType({
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": _OVERLOADED_STATUS,
})


def _tool_use_block(call: ToolCall) -> dict[str, Any]:
    try:
        arguments = call.parsed_arguments()
    except json.JSONDecodeError:
        arguments = {"_raw": call.arguments}  # keep the model's text rather than lose the turn
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": arguments}


def _blocks(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [{"type": "tool_result", "tool_use_id": message.tool_call_id or "", "content": message.content or ""}]
    blocks: list[dict[str, Any]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    blocks.extend(_tool_use_block(call) for call in message.tool_calls)
    return blocks


def map_messages(messages: Sequence[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """(system text, Anthropic turns): system pulled out, tool results as user turns, same roles merged."""
    system = [m.content for m in messages if m.role == "system" and m.content]
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return ("\n\n".join(system) if system else None), turns


def map_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """OpenAI function specs → Anthropic tools with ``input_schema``."""
    return [
        {
            "name": t.name,
            "description": t.description,
            "input_schema": dict(t.parameters) or {"type": "object", "properties": {}},
        }
        for t in tools
    ]


def map_tool_choice(choice: str | Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI ``tool_choice`` ("auto" / "required" / "none" / a named function) → Anthropic's form."""
    if isinstance(choice, str):
        kinds = {"auto": "auto", "required": "any", "any": "any", "none": "none"}
        if choice not in kinds:
            raise ConfigError("tool_choice", f"unknown tool_choice {choice!r}; use auto, required or none")
        return {"type": kinds[choice]}
    fn = choice.get("function")
    name = fn.get("name") if isinstance(fn, Mapping) else choice.get("name")
    if not isinstance(name, str):
        raise ConfigError("tool_choice", f"a named tool_choice needs a function name, got {dict(choice)!r}")
    return {"type": "tool", "name": name}


def build_messages_body(request: CompletionRequest, model: str, *, default_max_tokens: int) -> dict[str, Any]:
    system, turns = map_messages(request.messages)
    if request.response_format == "json":
        system = f"{system}\n\n{JSON_INSTRUCTION}" if system else JSON_INSTRUCTION
    body: dict[str, Any] = {
        "model": model,
        "messages": turns,
        "max_tokens": request.max_tokens or default_max_tokens,
    }
    if system:
        body["system"] = system
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    if request.tools:
        body["tools"] = map_tools(request.tools)
    if request.tool_choice is not None:
        body["tool_choice"] = map_tool_choice(request.tool_choice)
    return body


def _finish_reason(stop_reason: str | None) -> str:
    return STOP_REASONS.get(stop_reason or "", stop_reason or "stop")


def _tool_use(block: Mapping[str, Any], where: str, endpoint: Endpoint) -> ToolCall:
    name = wire.text(block.get("name"), f"{where}.name", endpoint)
    if not name:
        raise endpoint.malformed(f"{where} (tool_use) has no name")
    return ToolCall(
        id=wire.text(block.get("id"), f"{where}.id", endpoint) or "",
        name=name,
        arguments=json.dumps(wire.mapping(block.get("input"), f"{where}.input", endpoint)),
    )


def parse_message(data: Any, endpoint: Endpoint, *, latency_ms: float = 0.0) -> Completion:
    """A Messages API answer → Completion (text blocks joined, tool_use → ToolCall with JSON arguments)."""
    blocks = data.get("content") if isinstance(data, Mapping) else None
    if not isinstance(data, Mapping) or not isinstance(blocks, list):
        raise endpoint.malformed(f"the answer has no content blocks: {str(data)[:200]}")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for i, raw in enumerate(blocks):
        block = wire.mapping(raw, f"content[{i}]", endpoint)
        if block.get("type") == "text":
            texts.append(wire.text(block.get("text"), f"content[{i}].text", endpoint) or "")
        elif block.get("type") == "tool_use":
            calls.append(_tool_use(block, f"content[{i}]", endpoint))
    usage = wire.mapping(data.get("usage"), "usage", endpoint)
    completion = Completion(
        content="".join(texts),
        model=wire.text(data.get("model"), "model", endpoint) or endpoint.model,
        finish_reason=_finish_reason(wire.text(data.get("stop_reason"), "stop_reason", endpoint)),
        usage=Usage(
            wire.count(usage.get("input_tokens"), "usage.input_tokens", endpoint),
            wire.count(usage.get("output_tokens"), "usage.output_tokens", endpoint),
        ),
        tool_calls=tuple(calls),
        latency_ms=latency_ms,
    )
    if completion.is_empty:
        raise endpoint.malformed("no text and no tool calls in the answer")
    return completion


def _labels(endpoint: Endpoint) -> dict[str, Any]:
    return {"model": endpoint.model, "provider": endpoint.provider}


@dataclass
class _ToolBlock:
    id: str
    name: str
    fragments: list[str] = field(default_factory=list)


@dataclass
class _StreamState:
    """Folds Messages API stream events; tool_use input arrives as JSON fragments per content block."""

    endpoint: Endpoint
    input_tokens: int = 0
    output_tokens: int = 0
    stop_reason: str | None = None
    done: bool = False
    produced: bool = False
    tools: dict[int, _ToolBlock] = field(default_factory=dict)  # by content-block index

    def feed(self, kind: str, data: Mapping[str, Any]) -> Chunk | None:
        endpoint = self.endpoint
        if kind == "error":
            err = wire.mapping(data.get("error"), "error", endpoint)
            status = _ERROR_TYPES_TO_STATUS.get(str(err.get("type")), _OVERLOADED_STATUS)
            raise error_from_status(status, str(err.get("message", "stream error")), endpoint)
        if kind == "message_start":
            message = wire.mapping(data.get("message"), "message_start.message", endpoint)
            usage = wire.mapping(message.get("usage"), "message_start.message.usage", endpoint)
            self.input_tokens = wire.count(usage.get("input_tokens"), "message.usage.input_tokens", endpoint)
        elif kind == "content_block_start":
            block = wire.mapping(data.get("content_block"), "content_block", endpoint)
            if block.get("type") == "tool_use":
                index = wire.count(data.get("index"), "content_block_start.index", endpoint)
                name = wire.text(block.get("name"), "content_block.name", endpoint) or ""
                self.tools[index] = _ToolBlock(wire.text(block.get("id"), "content_block.id", endpoint) or "", name)
        elif kind == "content_block_delta":
            index = wire.count(data.get("index"), "content_block_delta.index", endpoint)
            return self._delta(index, wire.mapping(data.get("delta"), "content_block_delta.delta", endpoint))
        elif kind == "message_delta":
            delta = wire.mapping(data.get("delta"), "message_delta.delta", endpoint)
            self.stop_reason = wire.text(delta.get("stop_reason"), "delta.stop_reason", endpoint) or self.stop_reason
            usage = wire.mapping(data.get("usage"), "message_delta.usage", endpoint)
            if usage.get("output_tokens") is not None:
                self.output_tokens = wire.count(usage.get("output_tokens"), "usage.output_tokens", endpoint)
        elif kind == "message_stop":
            self.done = True
        return None

    def _delta(self, index: int, delta: Mapping[str, Any]) -> Chunk | None:
        endpoint = self.endpoint
        if delta.get("type") == "text_delta":
            text = wire.text(delta.get("text"), "text_delta.text", endpoint)
            if not text:
                return None
            self.produced = self.produced or bool(text.strip())
            return Chunk(text=text)
        if delta.get("type") == "input_json_delta" and index in self.tools:
            fragment = wire.text(delta.get("partial_json"), "input_json_delta.partial_json", endpoint)
            self.tools[index].fragments.append(fragment or "")
        return None

    def final_chunk(self) -> Chunk:
        if not self.done:
            raise StreamInterruptedError("the stream ended before message_stop", **_labels(self.endpoint))
        calls = tuple(
            ToolCall(id=t.id, name=t.name, arguments="".join(t.fragments) or "{}")
            for _, t in sorted(self.tools.items())
        )
        if any(not call.name for call in calls):
            raise self.endpoint.malformed("a streamed tool_use block has no name")
        if not self.produced and not calls:
            raise self.endpoint.malformed("the stream carried no text and no tool calls")
        return Chunk(
            finish_reason=_finish_reason(self.stop_reason),
            usage=Usage(self.input_tokens, self.output_tokens),
            tool_calls=calls,
        )


def _messages_url(base_url: str) -> str:
    base = base_url.partition("?")[0].rstrip("/")
    return join_url(base_url, "messages" if base.endswith("/v1") else "v1/messages")


class AnthropicProvider(HttpJsonProvider):
    """Claude models over the Messages API. Pass ``client`` (or ``transport``) to route calls in tests."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str | Secret | None,
        base_url: str = "https://api.anthropic.com",
        provider: str = "anthropic",
        timeout_s: float = 60.0,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        connect_timeout_s: float | None = None,
    ) -> None:
        self.default_max_tokens = default_max_tokens
        headers: dict[str, str | Secret] = {"anthropic-version": API_VERSION, "Accept": "application/json"}
        super().__init__(model, url=_messages_url(base_url), provider=provider, headers=headers, timeout_s=timeout_s,
                         client=client, transport=transport, key=as_secret(api_key, source="api_key"),
                         key_header="x-api-key", connect_timeout_s=connect_timeout_s)

    @classmethod
    def from_config(
        cls,
        config: ModelConfig,
        preset: ProviderPreset,
        resources: ProviderResources | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> AnthropicProvider:
        """Build from a ModelConfig: config.base_url > ANTHROPIC_BASE_URL > the public API; key likewise."""
        base_url = resolve_base_url(config, preset)
        return cls(
            config.name,
            api_key=resolve_api_key(config, preset, base_url),
            base_url=base_url,
            provider=config.provider,
            timeout_s=config.timeout_s,
            default_max_tokens=config.options.get("max_tokens", DEFAULT_MAX_TOKENS),
            client=client,
            transport=transport,
            connect_timeout_s=config.connect_timeout_s,
        )

    def build_body(self, request: CompletionRequest) -> dict[str, Any]:
        return build_messages_body(request, self.model, default_max_tokens=self.default_max_tokens)

    async def complete(self, request: CompletionRequest) -> Completion:
        data, latency = await self.post(self.build_body(request))
        return parse_message(data, self.endpoint, latency_ms=latency)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        body = {**self.build_body(request), "stream": True}
        state = _StreamState(self.endpoint)
        events = self.events(body)
        async with aclosing(events):
            async for event in events:
                if event.event == "ping":
                    continue
                payload = decode_json(event.data, self.endpoint)
                if not isinstance(payload, Mapping):
                    raise self.endpoint.malformed(f"stream event is not an object: {event.data[:200]}")
                kind = wire.text(payload.get("type"), "type", self.endpoint) or event.event
                chunk = state.feed(kind, payload)
                if chunk is not None:
                    yield chunk
                if state.done:
                    break
        yield state.final_chunk()
