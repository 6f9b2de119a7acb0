"""Core value types: messages, requests, completions, usage, stream chunks.

Plain frozen dataclasses (not pydantic) because they sit on the hot path of every call: building one costs
about a microsecond and importing this module costs nothing extra. Validation of *user* input happens once,
at the boundary (:func:`normalize_messages`, :mod:`cascadeflow.config`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal, TypeAlias

from cascadeflow.errors import ConfigError
from cascadeflow.validate import check_utf8

Role: TypeAlias = Literal["system", "user", "assistant", "tool"]
ROLES: frozenset[str] = frozenset(("system", "user", "assistant", "tool"))
ResponseFormat: TypeAlias = Literal["text", "json"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A model's request to call a tool. ``arguments`` is the raw JSON text the model produced."""

    id: str
    name: str
    arguments: str

    def parsed_arguments(self) -> Any:
        """The arguments as JSON; raises ``json.JSONDecodeError`` when the model wrote invalid JSON."""
        return json.loads(self.arguments or "{}")

    def to_openai(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call, in OpenAI's function form (the common form across providers)."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_any(cls, tool: ToolSpec | Mapping[str, Any], *, where: str = "tools") -> ToolSpec:
        """Accept a ToolSpec, an OpenAI ``{"type": "function", "function": {...}}`` or a bare function dict."""
        if isinstance(tool, ToolSpec):
            return tool
        if not isinstance(tool, Mapping):
            raise ConfigError(where, f"must be a ToolSpec or a function dict, got {type(tool).__name__} {tool!r}")
        fn = tool.get("function", tool)
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise ConfigError(where, f"each tool needs a function name; got {dict(tool)!r}")
        description = fn.get("description", "")
        if not isinstance(description, str):
            raise ConfigError(f"{where}.description", f"must be a string, got {type(description).__name__}")
        parameters = fn.get("parameters", {})
        if not isinstance(parameters, Mapping):
            raise ConfigError(f"{where}.parameters", f"must be a JSON-schema object, got {parameters!r}")
        check_utf8(f"{where}.name", fn["name"])
        return cls(name=fn["name"], description=description, parameters=dict(parameters))

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": dict(self.parameters)},
        }


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message; roles are kept intact all the way to the provider."""

    role: Role
    content: str | None = None
    name: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    def to_openai(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.name is not None:
            out["name"] = self.name
        if self.tool_calls:
            out["tool_calls"] = [tc.to_openai() for tc in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as reported by the provider (never estimated when the provider reports them)."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens)


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """Log-probability of one generated (or scored) token, as returned by the backend."""

    token: str
    logprob: float


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """Everything a provider needs for one call; the model is bound to the provider instance."""

    messages: tuple[Message, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    stop: tuple[str, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str | Mapping[str, Any] | None = None
    response_format: ResponseFormat | None = None
    logprobs: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)
    deadline: float | None = None
    """The ``time.monotonic()`` instant by which the whole run must be over (from ``deadline_s``): the engine and
    the resilience wrapper cut work at it, and no retry starts that could not finish before it."""

    @property
    def query(self) -> str:
        """Text of the last user message: what complexity, domain and relevance checks look at."""
        for msg in reversed(self.messages):
            if msg.role == "user" and msg.content:
                return msg.content
        return ""

    def with_(self, **changes: Any) -> CompletionRequest:
        return replace(self, **changes)


FinishReason: TypeAlias = str  # "stop" | "length" | "tool_calls" | "content_filter" | provider-specific


@dataclass(frozen=True, slots=True)
class Completion:
    """A provider's answer. ``logprobs`` is None unless the backend really returned them."""

    content: str
    model: str
    finish_reason: FinishReason = "stop"
    usage: Usage = field(default_factory=Usage)
    tool_calls: tuple[ToolCall, ...] = ()
    logprobs: tuple[TokenLogprob, ...] | None = None
    latency_ms: float = 0.0
    usage_estimated: bool = False
    """True when the backend reported no usage (some servers omit it in streams) and output tokens were
    counted from the streamed chunks instead; input tokens are then unknown (0)."""
    cost_usd: Decimal | None = None
    """What the backend itself says this call cost (e.g. OpenRouter's ``usage.cost``, a replayed recording).
    When set, the engine accounts this instead of the tier's price × usage."""
    cached: bool = False
    """Served from a response cache: no model was called, ``cost_usd`` is 0."""

    @property
    def is_empty(self) -> bool:
        return not self.content.strip() and not self.tool_calls


@dataclass(frozen=True, slots=True)
class Chunk:
    """One piece of a streamed answer. The last chunk carries ``finish_reason`` and, if known, usage."""

    text: str = ""
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    logprobs: tuple[TokenLogprob, ...] | None = None
    cost_usd: Decimal | None = None
    """The backend-reported cost of the whole call, on the last chunk (see :attr:`Completion.cost_usd`)."""
    cached: bool = False
    """Replayed from a response cache (then ``cost_usd`` is 0), on the last chunk."""


MessageInput: TypeAlias = "str | Message | Mapping[str, Any]"


def _optional_text(where: str, value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ConfigError(where, f"must be a string, got {type(value).__name__} {value!r}")
    if value is not None:
        check_utf8(where, value)
    return value


def _tool_call_from_mapping(raw: object, where: str) -> ToolCall:
    """One assistant tool call in OpenAI's form: ``{"id", "function": {"name", "arguments"}}``."""
    fn = raw.get("function") if isinstance(raw, Mapping) else None
    if not isinstance(raw, Mapping) or not isinstance(fn, Mapping):
        raise ConfigError(where, f"must be {{'id': ..., 'function': {{'name': ..., 'arguments': ...}}}}, got {raw!r}")
    name = fn.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}.function.name", f"must be a non-empty string, got {name!r}")
    arguments = fn.get("arguments", "")
    if isinstance(arguments, Mapping):
        arguments = json.dumps(arguments)
    call_id = raw.get("id", "")
    return ToolCall(
        id=_optional_text(f"{where}.id", call_id) or "",
        name=name,
        arguments=_optional_text(f"{where}.function.arguments", arguments) or "",
    )


def _content(raw: object, where: str) -> str | None:
    if isinstance(raw, list):  # OpenAI content parts: keep the text parts
        texts = [p.get("text") for p in raw if isinstance(p, Mapping) and p.get("type", "text") == "text"]
        if not all(isinstance(t, str) for t in texts):
            raise ConfigError(where, "every text part needs a string 'text'")
        raw = "".join(t for t in texts if isinstance(t, str))
    if raw is not None and not isinstance(raw, str):
        raise ConfigError(where, f"must be a string, got {type(raw).__name__}")
    if raw is not None:
        check_utf8(where, raw)
    return raw


def _message_from_mapping(raw: Mapping[str, Any], index: int) -> Message:
    where = f"messages[{index}]"
    role: Any = raw.get("role")
    try:
        known = role in ROLES
    except TypeError:  # a list or dict role (JSON allows both) is not even hashable
        known = False
    if not known:
        raise ConfigError(f"{where}.role", f"must be one of {sorted(ROLES)}, got {role!r}")
    calls = raw.get("tool_calls") or ()
    if isinstance(calls, str | Mapping) or not isinstance(calls, Sequence):
        raise ConfigError(f"{where}.tool_calls", f"must be a list of tool calls, got {calls!r}")
    return Message(
        role=role,
        content=_content(raw.get("content"), f"{where}.content"),
        name=_optional_text(f"{where}.name", raw.get("name")),
        tool_calls=tuple(_tool_call_from_mapping(c, f"{where}.tool_calls[{j}]") for j, c in enumerate(calls)),
        tool_call_id=_optional_text(f"{where}.tool_call_id", raw.get("tool_call_id")),
    )


def _checked_message(message: Message, index: int) -> Message:
    """A Message built by hand skips the mapping checks: check what would break the request body."""
    if message.role not in ROLES:
        raise ConfigError(f"messages[{index}].role", f"must be one of {sorted(ROLES)}, got {message.role!r}")
    _content(message.content, f"messages[{index}].content")
    return message


def normalize_messages(query: str | Sequence[Message | Mapping[str, Any]]) -> tuple[Message, ...]:
    """Turn a string or a list of chat messages into a tuple of :class:`Message`, roles untouched."""
    if isinstance(query, str):
        if not query.strip():
            raise ConfigError("query", "must not be empty")
        check_utf8("query", query)
        return (Message(role="user", content=query),)
    if isinstance(query, Mapping | bytes) or not isinstance(query, Sequence):
        hint = " (wrap one message in a list)" if isinstance(query, Mapping) else ""
        raise ConfigError(
            "query", f"must be a string or a list of chat messages, got {type(query).__name__} {query!r:.100}{hint}"
        )
    out: list[Message] = []
    for i, item in enumerate(query):
        if isinstance(item, Message):
            out.append(_checked_message(item, i))
        elif isinstance(item, Mapping):
            out.append(_message_from_mapping(item, i))
        else:
            raise ConfigError(f"messages[{i}]", f"must be a dict or Message, got {type(item).__name__}")
    if not out:
        raise ConfigError("messages", "must contain at least one message")
    return tuple(out)
