"""A :class:`CascadeResult` as OpenAI's ``chat.completion`` JSON, and the ``chat.completion.chunk`` pieces of a
stream. ``model`` is the tier that answered; ``usage`` counts every call the run made (drafts included), the
same calls ``x-cascadeflow-cost`` prices."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from cascadeflow.cascade.result import CascadeResult
from cascadeflow.types import TokenLogprob, ToolCall, Usage


def usage_json(usage: Usage) -> dict[str, int]:
    return {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens}


def cost_text(cost: Decimal) -> str:
    """USD as plain decimal digits (``0.0000052``, never ``5.2E-6``), for a header or a JSON field."""
    return format(cost.normalize(), "f") if cost else "0"


def logprobs_json(logprobs: tuple[TokenLogprob, ...] | None) -> dict[str, Any] | None:
    if logprobs is None:
        return None
    return {"content": [{"token": t.token, "logprob": t.logprob, "bytes": None, "top_logprobs": []}
                        for t in logprobs]}


def tool_calls_json(calls: tuple[ToolCall, ...], *, indexed: bool = False) -> list[dict[str, Any]]:
    out = [c.to_openai() for c in calls]
    if indexed:
        for i, call in enumerate(out):
            call["index"] = i
    return out


def summary(result: CascadeResult) -> dict[str, Any]:
    """What the ``x-cascadeflow-*`` headers say, as JSON (the last chunk of a stream carries it)."""
    return {"model": result.model_used, "cost": cost_text(result.cost), "draft_accepted": result.draft_accepted}


def completion_body(result: CascadeResult, completion_id: str) -> bytes:
    completion = result.completion
    message: dict[str, Any] = {"role": "assistant", "content": completion.content or None}
    if completion.tool_calls:
        message["tool_calls"] = tool_calls_json(completion.tool_calls)
    elif message["content"] is None:
        message["content"] = ""
    choice = {"index": 0, "message": message, "finish_reason": completion.finish_reason,
              "logprobs": logprobs_json(completion.logprobs)}
    return json.dumps({
        "id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": result.model_used,
        "choices": [choice], "usage": usage_json(result.usage), "system_fingerprint": None,
    }).encode()


class ChunkWriter:
    """Builds the SSE ``data:`` lines of one streamed completion (same id and creation time on each)."""

    def __init__(self, completion_id: str, model: str) -> None:
        self.id = completion_id
        self.model = model
        self.created = int(time.time())
        self._role_sent = False

    def _chunk(self, delta: dict[str, Any], finish: str | None = None, **more: Any) -> bytes:
        data = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **more}
        return b"data: " + json.dumps(data).encode() + b"\n\n"

    def text(self, text: str) -> bytes:
        delta: dict[str, Any] = {"content": text}
        if not self._role_sent:
            delta["role"] = "assistant"
            self._role_sent = True
        return self._chunk(delta)

    def end(self, result: CascadeResult, include_usage: bool) -> bytes:
        """Tool calls (assembled by the cascade), the finish reason, usage when asked, and ``[DONE]``."""
        completion = result.completion
        self.model = result.model_used
        out = b""
        if completion.tool_calls:
            delta: dict[str, Any] = {"tool_calls": tool_calls_json(completion.tool_calls, indexed=True)}
            if not self._role_sent:
                delta["role"] = "assistant"
                self._role_sent = True
            out += self._chunk(delta)
        out += self._chunk({}, completion.finish_reason, cascadeflow=summary(result))
        if include_usage:
            data = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                    "choices": [], "usage": usage_json(result.usage)}
            out += b"data: " + json.dumps(data).encode() + b"\n\n"
        return out + b"data: [DONE]\n\n"

    @staticmethod
    def error(body: bytes) -> bytes:
        """A failure after the stream began: OpenAI clients raise on a ``data:`` event carrying ``error``."""
        return b"data: " + body + b"\n\n"
