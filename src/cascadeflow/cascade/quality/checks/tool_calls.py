"""Tool calls: each call must name a tool the request offered and carry JSON arguments that fit its schema.

The schema check covers what models get wrong in practice (missing required fields, a string where a number
belongs, arguments that are not an object) with JSON Schema's basic keywords: ``type``, ``required``,
``properties``, ``items`` and ``enum``. Anything richer is left to the tool itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.cascade.quality.checks.registry import CheckSpec
from cascadeflow.types import Completion, CompletionRequest, ToolCall, ToolSpec

NAME: Final = "tool_calls"
_NO_CALLS: Final = CheckResult(NAME, 1.0, "no tool calls", applicable=False)
_MAX_DEPTH: Final = 8  # schemas nest a few levels; deeper recursion would only follow pathological input
_MAX_ERRORS_SHOWN: Final = 3


@dataclass(frozen=True)
class ToolCallsSettings:
    """None yet: every finding of this check (an unknown tool, arguments that do not fit) makes the call
    unusable, so there is no degree to tune."""

_TYPE_CHECKS: Final[Mapping[str, Callable[[object], bool]]] = MappingProxyType({
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
})


def _type_ok(value: object, expected: object) -> bool:
    """Unknown type names are not held against the value: this is a basic check, not a full validator."""
    names = expected if isinstance(expected, list) else [expected]
    known = [n for n in names if isinstance(n, str) and n in _TYPE_CHECKS]
    return not known or any(_TYPE_CHECKS[n](value) for n in known)


def schema_errors(value: object, schema: Mapping[str, Any], path: str = "arguments", depth: int = 0) -> list[str]:
    """Where ``value`` breaks the basic keywords of ``schema``; empty when it fits."""
    if depth > _MAX_DEPTH or not isinstance(schema, Mapping):
        return []
    expected = schema.get("type")
    if expected is not None and not _type_ok(value, expected):
        return [f"{path} should be {expected}, got {type(value).__name__}"]
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        return [f"{path} must be one of {enum}, got {value!r}"]
    errors: list[str] = []
    if isinstance(value, dict):
        errors += [f"{path}.{key} is required" for key in schema.get("required", ()) if key not in value]
        props = schema.get("properties", {})
        if isinstance(props, Mapping):
            for key, sub in props.items():
                if key in value:
                    errors += schema_errors(value[key], sub, f"{path}.{key}", depth + 1)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{path}[{i}]", depth + 1)
    return errors


def _call_errors(call: ToolCall, tools: Mapping[str, ToolSpec]) -> list[str]:
    spec = tools.get(call.name)
    if spec is None:
        offered = ", ".join(tools) or "none"
        return [f"unknown tool {call.name!r} (offered: {offered})"]
    try:
        args = call.parsed_arguments()
    except ValueError as exc:
        return [f"{call.name}: arguments are not valid JSON ({exc})"]
    schema = dict(spec.parameters) or {"type": "object"}
    return [f"{call.name}: {e}" for e in schema_errors(args, schema)]


def check_tool_calls(
    request: CompletionRequest, draft: Completion, context: ValidationContext, settings: ToolCallsSettings
) -> CheckResult:
    """Veto calls to tools that were not offered, or whose arguments do not fit the tool's schema."""
    if not draft.tool_calls:
        return _NO_CALLS
    tools = {t.name: t for t in request.tools}
    errors = [e for call in draft.tool_calls for e in _call_errors(call, tools)]
    if errors:
        shown = "; ".join(errors[:_MAX_ERRORS_SHOWN])
        return CheckResult(NAME, 0.0, f"tool_calls: {shown}")
    names = ", ".join(c.name for c in draft.tool_calls)
    return CheckResult(NAME, 1.0, f"tool_calls: {len(draft.tool_calls)} valid call(s) ({names})")


SPEC: Final = CheckSpec(
    name=NAME,
    run=check_tool_calls,
    settings=ToolCallsSettings,
    weight=2.0,  # tool calls that name unknown tools or carry invalid JSON are unusable
    order=40,
)
