"""Governing ``client.messages.create`` of the ``anthropic`` SDK (sync and async, ``stream=True`` included)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cascadeflow.cascade.calls import Begun, CallGate
from cascadeflow.harness.instrument.common import request_of, with_texts
from cascadeflow.harness.instrument.wrap import SdkCall, patch
from cascadeflow.providers.anthropic import STOP_REASONS
from cascadeflow.types import Completion, CompletionRequest, ToolCall, Usage

PROVIDER = "anthropic"


def _request(kwargs: dict[str, Any]) -> CompletionRequest:
    metadata = kwargs.get("metadata")
    user = metadata.get("user_id") if isinstance(metadata, dict) else None
    return request_of(kwargs.get("messages"), kwargs.get("system"), max_tokens=kwargs.get("max_tokens"), user=user)


def _apply(kwargs: dict[str, Any], before: CompletionRequest, after: CompletionRequest) -> dict[str, Any]:
    if after is before:
        return kwargs
    changed = dict(kwargs)
    if after.max_tokens != before.max_tokens and after.max_tokens is not None:
        changed["max_tokens"] = after.max_tokens
    offset = 1 if kwargs.get("system") is not None else 0
    if offset and after.messages[0].content != before.messages[0].content and isinstance(kwargs["system"], str):
        changed["system"] = after.messages[0].content
    changed["messages"] = with_texts(kwargs.get("messages"), before.messages[offset:], after.messages[offset:])
    return changed


def _completion(response: Any, model: str) -> Completion:
    blocks = list(getattr(response, "content", None) or ())
    text = "".join(str(getattr(b, "text", "")) for b in blocks if getattr(b, "type", "") == "text")
    calls = tuple(ToolCall(str(b.id), str(b.name), json.dumps(getattr(b, "input", {}) or {}))
                  for b in blocks if getattr(b, "type", "") == "tool_use")
    usage = getattr(response, "usage", None)
    return Completion(content=text, model=model, tool_calls=calls,
                      finish_reason=STOP_REASONS.get(str(getattr(response, "stop_reason", "")), "stop"),
                      usage=Usage(int(getattr(usage, "input_tokens", 0) or 0),
                                  int(getattr(usage, "output_tokens", 0) or 0)))


def _finish(gate: CallGate, begun: Begun, response: Any, model: str) -> Completion:
    completion = _completion(response, model)
    answered = gate.answered(begun, completion)
    if answered.tool_calls != completion.tool_calls:  # tool calls past a cap: drop their blocks
        kept = {c.id for c in answered.tool_calls}
        response.content = [b for b in response.content if getattr(b, "type", "") != "tool_use" or b.id in kept]
    return answered


class _Tally:
    def __init__(self, model: str) -> None:
        self.model = model
        self.parts: list[str] = []
        self.input_tokens = 0
        self.output_tokens = 0
        self.stop: str | None = None

    def add(self, event: Any) -> None:
        kind = getattr(event, "type", "")
        if kind == "message_start":
            self.input_tokens = int(getattr(getattr(event.message, "usage", None), "input_tokens", 0) or 0)
        elif kind == "content_block_delta":
            text = getattr(getattr(event, "delta", None), "text", None)
            if text:
                self.parts.append(text)
        elif kind == "message_delta":
            self.output_tokens = int(getattr(getattr(event, "usage", None), "output_tokens", 0) or 0)
            self.stop = getattr(getattr(event, "delta", None), "stop_reason", None) or self.stop

    def completion(self) -> Completion:
        return Completion(content="".join(self.parts), model=self.model,
                          usage=Usage(self.input_tokens, self.output_tokens),
                          finish_reason=STOP_REASONS.get(str(self.stop), "stop"))


SDK = SdkCall(PROVIDER, _request, _apply, _finish, lambda model, _request: _Tally(model))


def instrument() -> Callable[[], None]:
    """Patch the SDK's messages API; returns the undo."""
    from anthropic.resources import messages as module

    return patch(module.Messages, module.AsyncMessages, SDK)
