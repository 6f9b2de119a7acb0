"""``POST /v1/messages`` for Anthropic clients: their request and answer shapes over the same cascades.

The body is turned into the chat form the cascade speaks (``system`` → a system message, ``tool_use`` blocks →
assistant tool calls, ``tool_result`` blocks → tool messages, ``tools`` with ``input_schema`` → functions), run
exactly like a chat completion (same keys, budgets, limits, headers, metrics), and the result is written back as
an Anthropic ``message`` — or as its event stream (``message_start`` … ``message_stop``). Non-text content blocks
(images, documents) are not supported by the cascade's checks and are refused with 400.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from cascadeflow.cascade.result import CascadeResult
from cascadeflow.server.chat_request import ChatCall, parse_chat
from cascadeflow.server.chat_response import summary
from cascadeflow.server.errors import HttpError, bad_request

STOP_REASONS: Final = MappingProxyType({"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"})
ERROR_TYPES: Final = MappingProxyType({400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                      403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                      429: "rate_limit_error", 503: "overloaded_error"})


def error_body(err: HttpError) -> bytes:
    """Anthropic's error shape; the gateway's own code rides along in ``error.code``."""
    kind = ERROR_TYPES.get(err.status, "api_error")
    return json.dumps({"type": "error", "error": {"type": kind, "message": err.message, "code": err.code}}).encode()


def _text(content: object, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise bad_request(f"{where} must be a string or a list of text blocks", param=where)
    parts = []
    for i, block in enumerate(content):
        if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
            raise bad_request(f"{where}[{i}] must be a text block", param=f"{where}[{i}]")
        parts.append(block["text"])
    return "".join(parts)


def _turn(message: object, index: int) -> list[dict[str, Any]]:
    where = f"messages[{index}]"
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
        raise bad_request(f"{where} must be a user or assistant turn", param=f"{where}.role")
    role, content = message["role"], message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    if not isinstance(content, list):
        raise bad_request(f"{where}.content must be a string or a list of blocks", param=f"{where}.content")
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for j, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        at = f"{where}.content[{j}]"
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "tool_use" and role == "assistant" and isinstance(block.get("name"), str):
            calls.append({"id": str(block.get("id", "")), "type": "function",
                          "function": {"name": block["name"], "arguments": json.dumps(block.get("input", {}))}})
        elif kind == "tool_result" and role == "user":
            results.append({"role": "tool", "tool_call_id": str(block.get("tool_use_id", "")),
                            "content": _text(block.get("content", ""), f"{at}.content")})
        else:
            raise bad_request(f"{at}: unsupported content block {str(kind)[:40]!r}", param=at)
    out: list[dict[str, Any]] = list(results)
    if texts or calls:
        turn: dict[str, Any] = {"role": role, "content": "".join(texts) or None}
        if calls:
            turn["tool_calls"] = calls
        out.append(turn)
    return out


def _tool_choice(raw: object) -> object:
    if raw is None:
        return None
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind == "tool" and isinstance(raw, dict) and isinstance(raw.get("name"), str):
        return {"type": "function", "function": {"name": raw["name"]}}
    choices = {"auto": "auto", "any": "required", "none": "none"}
    if not isinstance(kind, str) or kind not in choices:
        raise bad_request("tool_choice.type must be auto, any, tool or none", param="tool_choice")
    return choices[kind]


def parse_messages(body: Mapping[str, Any]) -> ChatCall:
    """An Anthropic Messages body → the same :class:`ChatCall` a chat-completions body gives."""
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise bad_request("messages must be a non-empty list of turns", param="messages")
    messages: list[dict[str, Any]] = []
    if body.get("system") is not None:
        messages.append({"role": "system", "content": _text(body["system"], "system")})
    for i, message in enumerate(raw_messages):
        messages.extend(_turn(message, i))
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
            raise bad_request("tools must be a list of tool objects", param="tools")
        tools = [{"type": "function", "function": {"name": t.get("name"), "description": t.get("description", ""),
                                                   "parameters": t.get("input_schema", {})}} for t in tools]
    metadata = body.get("metadata")
    user = metadata.get("user_id") if isinstance(metadata, dict) else None
    chat = {"model": body.get("model"), "messages": messages, "max_tokens": body.get("max_tokens"),
            "temperature": body.get("temperature"), "top_p": body.get("top_p"), "stop": body.get("stop_sequences"),
            "tools": tools, "tool_choice": _tool_choice(body.get("tool_choice")), "stream": body.get("stream"),
            "user": user if isinstance(user, str) else None}
    return parse_chat({k: v for k, v in chat.items() if v is not None})


def _content(result: CascadeResult) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if result.content:
        blocks.append({"type": "text", "text": result.content})
    for call in result.tool_calls:
        try:
            arguments = call.parsed_arguments()
        except json.JSONDecodeError:
            arguments = {"_raw": call.arguments}
        blocks.append({"type": "tool_use", "id": call.id or f"toolu_{len(blocks)}", "name": call.name,
                       "input": arguments})
    return blocks


def message_body(result: CascadeResult, message_id: str) -> bytes:
    return json.dumps({
        "id": message_id, "type": "message", "role": "assistant", "model": result.model_used,
        "content": _content(result), "stop_reason": STOP_REASONS.get(result.finish_reason, "end_turn"),
        "stop_sequence": None,
        "usage": {"input_tokens": result.usage.input_tokens, "output_tokens": result.usage.output_tokens},
    }).encode()


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: ".encode() + json.dumps({"type": name, **data}).encode() + b"\n\n"


class MessageEventWriter:
    """Anthropic's stream events for one answer: same interface as the chat ``ChunkWriter``."""

    def __init__(self, message_id: str, model: str) -> None:
        self.id, self.model = message_id, model
        self.created = int(time.time())
        self._started = False
        self._text_open = False
        self._blocks = 0

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return _event("message_start", {"message": {
            "id": self.id, "type": "message", "role": "assistant", "model": self.model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 0, "output_tokens": 0}}})

    def text(self, text: str) -> bytes:
        out = self._start()
        if not self._text_open:
            self._text_open = True
            out += _event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
            self._blocks = 1
        return out + _event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": text}})

    def end(self, result: CascadeResult, include_usage: bool = True) -> bytes:
        out = self._start()
        if self._text_open:
            out += _event("content_block_stop", {"index": 0})
        for block in _content(result):
            if block["type"] != "tool_use":
                continue
            index = self._blocks
            self._blocks += 1
            out += _event("content_block_start", {"index": index, "content_block": {**block, "input": {}}})
            out += _event("content_block_delta", {"index": index, "delta": {
                "type": "input_json_delta", "partial_json": json.dumps(block["input"])}})
            out += _event("content_block_stop", {"index": index})
        usage = {"input_tokens": result.usage.input_tokens, "output_tokens": result.usage.output_tokens}
        out += _event("message_delta", {"delta": {
            "stop_reason": STOP_REASONS.get(result.finish_reason, "end_turn"), "stop_sequence": None},
            "usage": usage, "cascadeflow": summary(result)})
        return out + _event("message_stop", {})

    @staticmethod
    def error(body: bytes) -> bytes:
        return b"event: error\ndata: " + body + b"\n\n"
