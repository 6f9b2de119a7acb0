"""Turn cached values into bytes and back: JSON for plain values, a lossless form for ``Completion``."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Protocol

from cascadeflow.types import Completion, TokenLogprob, ToolCall, Usage

_COMPLETION_TAG = "__cascadeflow_completion__"


class Codec(Protocol):
    def dumps(self, value: Any) -> bytes: ...

    def loads(self, raw: bytes) -> Any: ...


def _completion_to_dict(c: Completion) -> dict[str, Any]:
    return {
        _COMPLETION_TAG: 1,
        "content": c.content,
        "model": c.model,
        "finish_reason": c.finish_reason,
        "usage": [c.usage.input_tokens, c.usage.output_tokens],
        "tool_calls": [[t.id, t.name, t.arguments] for t in c.tool_calls],
        "logprobs": None if c.logprobs is None else [[lp.token, lp.logprob] for lp in c.logprobs],
        "latency_ms": c.latency_ms,
        "usage_estimated": c.usage_estimated,
        "cost_usd": None if c.cost_usd is None else str(c.cost_usd),
    }


def _completion_from_dict(d: dict[str, Any]) -> Completion:
    return Completion(
        content=d["content"],
        model=d["model"],
        finish_reason=d["finish_reason"],
        usage=Usage(*d["usage"]),
        tool_calls=tuple(ToolCall(*t) for t in d["tool_calls"]),
        logprobs=None if d["logprobs"] is None else tuple(TokenLogprob(tok, lp) for tok, lp in d["logprobs"]),
        latency_ms=d["latency_ms"],
        usage_estimated=d["usage_estimated"],
        cost_usd=None if d["cost_usd"] is None else Decimal(d["cost_usd"]),
    )


class JsonCodec:
    """JSON, with ``Completion`` objects kept whole; other values must be JSON-serialisable (or ``str``-able)."""

    def dumps(self, value: Any) -> bytes:
        encoded = _completion_to_dict(value) if isinstance(value, Completion) else value
        return json.dumps(encoded, default=str, separators=(",", ":")).encode("utf-8")

    def loads(self, raw: bytes) -> Any:
        value = json.loads(raw)
        if isinstance(value, dict) and value.get(_COMPLETION_TAG) == 1:
            return _completion_from_dict(value)
        return value
