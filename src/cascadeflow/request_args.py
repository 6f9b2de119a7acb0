"""The arguments of ``agent.run`` / ``stream`` / ``build_request``, checked and turned into a request.

Every argument is checked here, once, with a :class:`~cascadeflow.errors.ConfigError` naming it and showing the
bad value; nothing is coerced silently (``max_tokens=1.5`` is an error, not 1; ``response_format="xml"`` is an
error, not dropped). The one deliberate convenience: ``stop="END"`` is one stop sequence, ``("END",)`` — a
string is never split into characters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, get_args

from cascadeflow.config import MAX_TIMEOUT_S
from cascadeflow.errors import ConfigError
from cascadeflow.types import CompletionRequest, Message, ResponseFormat, ToolSpec, normalize_messages
from cascadeflow.validate import check_int, check_number, check_utf8

MAX_TEMPERATURE: Final = 2.0
"""OpenAI's and most servers' upper bound; Anthropic's is 1.0 and the server says so."""
TOOL_CHOICES: Final = ("auto", "none", "required")
"""``tool_choice`` as a string; or a mapping naming one function, ``{"type": "function", "function": {"name"}}``."""
RESPONSE_FORMATS: Final[tuple[str, ...]] = get_args(ResponseFormat)


def _stop(stop: str | Sequence[str] | None) -> tuple[str, ...]:
    if stop is None:
        return ()
    items = (stop,) if isinstance(stop, str) else stop
    if isinstance(items, Mapping) or not isinstance(items, Sequence):
        raise ConfigError("stop", f"must be a string or a list of strings, got {stop!r}")
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise ConfigError(f"stop[{i}]", f"must be a non-empty string, got {item!r}")
        check_utf8(f"stop[{i}]", item)
    return tuple(items)


def _tools(tools: Sequence[ToolSpec | Mapping[str, Any]] | None) -> tuple[ToolSpec, ...]:
    if tools is None:
        return ()
    if isinstance(tools, str | Mapping) or not isinstance(tools, Sequence):
        raise ConfigError("tools", f"must be a list of tools, got {type(tools).__name__} {tools!r:.100}")
    return tuple(ToolSpec.from_any(t, where=f"tools[{i}]") for i, t in enumerate(tools))


def _tool_choice(choice: object, tools: tuple[ToolSpec, ...]) -> str | Mapping[str, Any] | None:
    if choice is None:
        return None
    if not tools:
        raise ConfigError("tool_choice", f"given ({choice!r}) without any tools")
    if isinstance(choice, str):
        if choice not in TOOL_CHOICES:
            raise ConfigError("tool_choice", f"must be one of {list(TOOL_CHOICES)} or a named function, got {choice!r}")
        return choice
    if not isinstance(choice, Mapping):
        raise ConfigError("tool_choice", f"must be one of {list(TOOL_CHOICES)} or a named function, got {choice!r}")
    fn = choice.get("function", choice)
    name = fn.get("name") if isinstance(fn, Mapping) else None
    if not isinstance(name, str) or name not in {t.name for t in tools}:
        known = [t.name for t in tools]
        raise ConfigError("tool_choice", f"must name one of the tools {known}, got {dict(choice)!r}")
    return choice


def _deadline(deadline_s: object, clock: Callable[[], float]) -> float | None:
    if deadline_s is None:
        return None
    check_number("deadline_s", deadline_s, lo=0.001, hi=MAX_TIMEOUT_S)
    return clock() + float(deadline_s)  # type: ignore[arg-type]


def build_completion_request(
    query: str | Sequence[Message | Mapping[str, Any]],
    *,
    max_tokens: int | None = None,
    temperature: float | None = None,
    stop: str | Sequence[str] | None = None,
    tools: Sequence[ToolSpec | Mapping[str, Any]] | None = None,
    tool_choice: str | Mapping[str, Any] | None = None,
    response_format: ResponseFormat | None = None,
    logprobs: bool = False,
    user_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    deadline_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> CompletionRequest:
    """Check every argument and build the :class:`CompletionRequest` (``deadline_s`` starts counting now)."""
    if max_tokens is not None:
        check_int("max_tokens", max_tokens, lo=1)
    if temperature is not None:
        check_number("temperature", temperature, hi=MAX_TEMPERATURE)
    if response_format is not None and response_format not in RESPONSE_FORMATS:
        raise ConfigError("response_format", f"must be one of {list(RESPONSE_FORMATS)}, got {response_format!r}")
    if not isinstance(logprobs, bool):
        raise ConfigError("logprobs", f"must be True or False, got {logprobs!r}")
    if user_id is not None and (not isinstance(user_id, str) or not user_id):
        raise ConfigError("user_id", f"must be a non-empty string, got {user_id!r}")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise ConfigError("metadata", f"must be a mapping, got {type(metadata).__name__}")
    checked_tools = _tools(tools)
    meta = dict(metadata or {})
    if user_id is not None:
        meta["user_id"] = user_id
    return CompletionRequest(
        messages=normalize_messages(query),
        max_tokens=max_tokens,
        temperature=temperature,
        stop=_stop(stop),
        tools=checked_tools,
        tool_choice=_tool_choice(tool_choice, checked_tools),
        response_format=response_format,
        logprobs=logprobs,
        metadata=meta,
        deadline=_deadline(deadline_s, clock),
    )


_DEFAULTS: Final = MappingProxyType({"logprobs": False})


def apply_options(options: Mapping[str, Any], args: Mapping[str, Any]) -> dict[str, Any]:
    """Fold ``options`` (the same arguments as a mapping) into ``args``; an unknown name, or a name given both
    ways with different values, is a ConfigError naming it."""
    if not isinstance(options, Mapping):
        raise ConfigError("options", f"must be a mapping of argument names to values, got {type(options).__name__}")
    merged = dict(args)
    for name, value in options.items():
        where = f"options[{name!r}]"
        if name not in merged:
            raise ConfigError(where, f"unknown argument; known: {sorted(merged)}")
        given = merged[name]
        if given is not None and given != _DEFAULTS.get(name) and given != value:
            raise ConfigError(where, f"given twice: {given!r} as an argument, {value!r} in options")
        merged[name] = value
    return merged
