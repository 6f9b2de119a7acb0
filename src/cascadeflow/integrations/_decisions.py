"""What every adapter tells its framework about a cascade answer, in one shape.

Frameworks carry free-form metadata next to a model's answer (LangChain ``response_metadata``, span data in
the Agents SDK's traces, pydantic-ai's ``provider_details``); all of them get the same keys, built here, so
``model_used`` means the same thing everywhere. Values are JSON-safe (costs as float USD plus the exact
Decimal as a string) because frameworks serialise this metadata into traces.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from cascadeflow.cascade.result import CascadeResult
from cascadeflow.errors import ConfigError
from cascadeflow.types import ToolCall, ToolSpec

DEFAULT_CONTEXT_WINDOW_TOKENS = 8192
"""The context size adapters report to frameworks that ask (AutoGen, CrewAI) when the user does not say: the
smallest among common small tiers. Frameworks use it only to trim histories, so erring small trims early
rather than overflowing a cheap tier."""

METADATA_KEY = "cascadeflow"
"""Key under which the full decision record sits inside a framework's metadata mapping."""


def decision_metadata(result: CascadeResult) -> dict[str, Any]:
    """The flat keys an adapter puts into its framework's metadata for one cascade answer."""
    return {
        "model_name": result.model_used,
        "model_used": result.model_used,
        "draft_accepted": result.draft_accepted,
        "cascaded": result.cascaded,
        "cost": float(result.cost),
        "cost_usd": str(result.cost),
        "cost_saved": result.cost_saved,
        "reason": result.reason,
        "complexity": result.complexity,
        "finish_reason": result.finish_reason,
        "models_called": [step.model for step in result.steps],
        METADATA_KEY: decision_record(result),
    }


def decision_record(result: CascadeResult) -> dict[str, Any]:
    """The whole run, step by step, without the answer text (traces may be stored where text must not go)."""
    record = result.to_dict()
    record.pop("content", None)
    return record


def tool_choice_for_openai(choice: object, tool_names: Sequence[str]) -> str | Mapping[str, Any] | None:
    """Frameworks spell tool_choice differently; cascadeflow passes OpenAI's form to every provider.

    ``"any"``/``"required"``/``True`` force some tool, ``"auto"``/``"none"`` as named, any other string names
    one tool, and a mapping in OpenAI's form passes through.
    """
    if choice is None or choice is False:
        return None
    if choice is True or choice in ("any", "required"):
        return "required"
    if choice in ("auto", "none"):
        return str(choice)
    if isinstance(choice, str):
        if tool_names and choice not in tool_names:
            raise ConfigError("tool_choice", f"names no bound tool: {choice!r} (tools: {list(tool_names)})")
        return {"type": "function", "function": {"name": choice}}
    if isinstance(choice, Mapping):
        return choice
    raise ConfigError("tool_choice", f"unsupported value {choice!r}")


def parse_tool_arguments(call: ToolCall) -> tuple[dict[str, Any] | None, str | None]:
    """The call's arguments as a dict, or None and the reason when the model wrote something else."""
    try:
        parsed = call.parsed_arguments()
    except json.JSONDecodeError as exc:
        return None, f"arguments are not valid JSON: {exc.msg}"
    if not isinstance(parsed, dict):
        return None, f"arguments must be a JSON object, got {type(parsed).__name__}"
    return parsed, None


def tool_names(tools: Sequence[ToolSpec]) -> list[str]:
    return [tool.name for tool in tools]
