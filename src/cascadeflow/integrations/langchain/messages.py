"""LangChain messages ⇄ cascadeflow messages, roles and tool calls intact."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk

from cascadeflow.cascade.result import CascadeResult
from cascadeflow.errors import ConfigError
from cascadeflow.integrations._decisions import decision_metadata, parse_tool_arguments
from cascadeflow.types import Message, Role, ToolCall

_CHAT_ROLES: Mapping[str, Role] = MappingProxyType({
    "system": "system", "developer": "system", "user": "user", "human": "user",
    "assistant": "assistant", "ai": "assistant", "tool": "tool",
})
# Parts of an assistant turn that are not its text (reasoning, tool-call blocks) are carried elsewhere or
# not replayed; any other non-text part (an image for a user turn) has no cascadeflow form and is refused.
_SKIPPED_ASSISTANT_PARTS = frozenset({"reasoning", "thinking", "tool_call", "tool_use", "function_call"})


def _text(content: str | list[str | dict[str, Any]], field: str, *, assistant: bool) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for part in content:
        if isinstance(part, str):
            parts.append(part)
            continue
        kind = part.get("type")
        if kind == "text":
            parts.append(str(part.get("text", "")))
        elif not (assistant and kind in _SKIPPED_ASSISTANT_PARTS):
            raise ConfigError(field, f"only text content is supported, got a {kind!r} part")
    return "".join(parts)


def _tool_calls(message: AIMessage) -> tuple[ToolCall, ...]:
    calls = [ToolCall(id=c.get("id") or "", name=c["name"], arguments=json.dumps(c["args"]))
             for c in message.tool_calls]
    # A call whose arguments did not parse is still part of the conversation the model must see again.
    calls += [ToolCall(id=c.get("id") or "", name=c.get("name") or "", arguments=c.get("args") or "")
              for c in message.invalid_tool_calls]
    return tuple(calls)


def to_cascade_message(message: BaseMessage, index: int) -> Message:
    """One LangChain message as a cascadeflow :class:`Message` (ConfigError naming the index otherwise)."""
    field = f"messages[{index}]"
    if isinstance(message, SystemMessage):
        return Message(role="system", content=_text(message.content, f"{field}.content", assistant=False))
    if isinstance(message, HumanMessage):
        return Message(role="user", content=_text(message.content, f"{field}.content", assistant=False),
                       name=message.name)
    if isinstance(message, AIMessage):
        text = _text(message.content, f"{field}.content", assistant=True)
        calls = _tool_calls(message)
        return Message(role="assistant", content=text or (None if calls else ""), tool_calls=calls)
    if isinstance(message, ToolMessage):
        return Message(role="tool", content=_text(message.content, f"{field}.content", assistant=False),
                       tool_call_id=message.tool_call_id)
    if isinstance(message, ChatMessage):
        role = _CHAT_ROLES.get(message.role)
        if role is None:
            raise ConfigError(f"{field}.role", f"must be one of {sorted(_CHAT_ROLES)}, got {message.role!r}")
        return Message(role=role, content=_text(message.content, f"{field}.content", assistant=role == "assistant"))
    raise ConfigError(field, f"unsupported LangChain message type {type(message).__name__}")


def to_cascade_messages(messages: Sequence[BaseMessage]) -> list[Message]:
    return [to_cascade_message(m, i) for i, m in enumerate(messages)]


def usage_metadata(result: CascadeResult) -> UsageMetadata:
    """Tokens of every tier the cascade called (what was billed), not only the answering tier's."""
    usage = result.usage
    return UsageMetadata(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                         total_tokens=usage.total_tokens)


def to_ai_message(result: CascadeResult) -> AIMessage:
    """The cascade's answer as an AIMessage: tool calls parsed, decision metadata attached."""
    calls: list[Any] = []
    invalid: list[Any] = []
    for call in result.tool_calls:
        args, error = parse_tool_arguments(call)
        if args is None:
            invalid.append(invalid_tool_call(name=call.name, args=call.arguments, id=call.id, error=error))
        else:
            calls.append(tool_call(name=call.name, args=args, id=call.id))
    return AIMessage(content=result.content, tool_calls=calls, invalid_tool_calls=invalid,
                     usage_metadata=usage_metadata(result), response_metadata=decision_metadata(result))


def final_chunk(result: CascadeResult) -> AIMessageChunk:
    """The closing chunk of a stream: tool calls, usage and decision metadata (the text came before)."""
    chunks = [tool_call_chunk(name=c.name, args=c.arguments, id=c.id, index=i)
              for i, c in enumerate(result.tool_calls)]
    return AIMessageChunk(content="", tool_call_chunks=chunks, usage_metadata=usage_metadata(result),
                          response_metadata=decision_metadata(result), chunk_position="last")
