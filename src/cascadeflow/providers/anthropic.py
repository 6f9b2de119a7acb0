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
from typing import Any

import httpx

from cascadeflow.config import ModelConfig
from cascadeflow.errors import ConfigError, MalformedResponseError, StreamInterruptedError
from cascadeflow.providers.http_base import HttpJsonProvider, resolve_api_key, resolve_base_url
from cascadeflow.providers.http_errors import Endpoint, decode_json, error_from_status
from cascadeflow.providers.registry import ProviderPreset
from cascadeflow.types import Chunk, Completion, CompletionRequest, Message, ToolCall, ToolSpec, Usage

API_VERSION = "2023-06-01"  # the stable Messages API version; newer features opt in via anthropic-beta headers
# The API rejects calls without max_tokens; 1024 fits a normal chat answer without inviting runaway cost.
DEFAULT_MAX_TOKENS = 1024
# There is no JSON mode in the Messages API, so a JSON request is expressed as an instruction.
JSON_INSTRUCTION = "Answer with one valid JSON object and nothing else."
_MS_PER_SECOND = 1000.0
_OVERLOADED_STATUS = 529  # Anthropic's "overloaded_error": transient, like a 503

_STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
_ERROR_TYPES_TO_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": _OVERLOADED_STATUS,
}


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


def _finish_reason(stop_reason: Any) -> str:
    return _STOP_REASONS.get(str(stop_reason), str(stop_reason or "stop"))


def parse_message(data: Any, endpoint: Endpoint, *, latency_ms: float = 0.0) -> Completion:
    """A Messages API answer → Completion (text blocks joined, tool_use → ToolCall with JSON arguments)."""
    blocks = data.get("content") if isinstance(data, Mapping) else None
    if not isinstance(blocks, list):
        raise MalformedResponseError(f"the answer has no content blocks: {str(data)[:200]}", **_labels(endpoint))
    text = "".join(b.get("text", "") for b in blocks if isinstance(b, Mapping) and b.get("type") == "text")
    calls = tuple(
        ToolCall(id=str(b.get("id", "")), name=str(b.get("name", "")), arguments=json.dumps(b.get("input", {})))
        for b in blocks
        if isinstance(b, Mapping) and b.get("type") == "tool_use"
    )
    usage = data.get("usage") or {}
    completion = Completion(
        content=text,
        model=str(data.get("model") or endpoint.model),
        finish_reason=_finish_reason(data.get("stop_reason")),
        usage=Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)),
        tool_calls=calls,
        latency_ms=latency_ms,
    )
    if completion.is_empty:
        raise MalformedResponseError("no text and no tool calls in the answer", **_labels(endpoint))
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
        if kind == "error":
            err = data.get("error") or {}
            status = _ERROR_TYPES_TO_STATUS.get(str(err.get("type")), _OVERLOADED_STATUS)
            raise error_from_status(status, str(err.get("message", "stream error")), self.endpoint)
        if kind == "message_start":
            usage = (data.get("message") or {}).get("usage") or {}
            self.input_tokens = int(usage.get("input_tokens") or 0)
        elif kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use":
                tool = _ToolBlock(str(block.get("id", "")), str(block.get("name", "")))
                self.tools[int(data.get("index") or 0)] = tool
        elif kind == "content_block_delta":
            return self._delta(int(data.get("index") or 0), data.get("delta") or {})
        elif kind == "message_delta":
            self.stop_reason = (data.get("delta") or {}).get("stop_reason") or self.stop_reason
            self.output_tokens = int((data.get("usage") or {}).get("output_tokens") or self.output_tokens)
        elif kind == "message_stop":
            self.done = True
        return None

    def _delta(self, index: int, delta: Mapping[str, Any]) -> Chunk | None:
        if delta.get("type") == "text_delta" and delta.get("text"):
            self.produced = self.produced or bool(str(delta["text"]).strip())
            return Chunk(text=str(delta["text"]))
        if delta.get("type") == "input_json_delta" and index in self.tools:
            self.tools[index].fragments.append(str(delta.get("partial_json", "")))
        return None

    def final_chunk(self) -> Chunk:
        if not self.done:
            raise StreamInterruptedError("the stream ended before message_stop", **_labels(self.endpoint))
        calls = tuple(
            ToolCall(id=t.id, name=t.name, arguments="".join(t.fragments) or "{}")
            for _, t in sorted(self.tools.items())
        )
        if not self.produced and not calls:
            raise MalformedResponseError("the stream carried no text and no tool calls", **_labels(self.endpoint))
        return Chunk(
            finish_reason=_finish_reason(self.stop_reason),
            usage=Usage(self.input_tokens, self.output_tokens),
            tool_calls=calls,
        )


def _messages_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"


class AnthropicProvider(HttpJsonProvider):
    """Claude models over the Messages API. Pass ``client`` (or ``transport``) to route calls in tests."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None,
        base_url: str = "https://api.anthropic.com",
        provider: str = "anthropic",
        timeout_s: float = 60.0,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.default_max_tokens = default_max_tokens
        headers = {"anthropic-version": API_VERSION, "Accept": "application/json"}
        if api_key:
            headers["x-api-key"] = api_key
        super().__init__(model, url=_messages_url(base_url), provider=provider, headers=headers, timeout_s=timeout_s,
                         client=client, transport=transport)

    @classmethod
    def from_config(
        cls,
        config: ModelConfig,
        preset: ProviderPreset,
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
            default_max_tokens=int(config.options.get("max_tokens", DEFAULT_MAX_TOKENS)),
            client=client,
            transport=transport,
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
                    raise MalformedResponseError(f"stream event is not an object: {event.data[:200]}",
                                                 **_labels(self.endpoint))
                chunk = state.feed(str(payload.get("type") or event.event), payload)
                if chunk is not None:
                    yield chunk
                if state.done:
                    break
        yield state.final_chunk()
