"""Governing ``client.chat.completions.create`` of the ``openai`` SDK (sync and async, streaming included)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cascadeflow.cascade.calls import Begun, CallGate
from cascadeflow.harness.instrument.common import (
    request_of,
    tool_calls_of,
    with_texts,
)
from cascadeflow.harness.instrument.wrap import SdkCall, patch
from cascadeflow.types import Completion, CompletionRequest, Usage

PROVIDER = "openai"


def _request(kwargs: dict[str, Any]) -> CompletionRequest:
    limit = kwargs.get("max_completion_tokens", kwargs.get("max_tokens"))
    return request_of(kwargs.get("messages"), max_tokens=limit, user=kwargs.get("user"))


def _apply(kwargs: dict[str, Any], before: CompletionRequest, after: CompletionRequest) -> dict[str, Any]:
    """Carry a policy's changes (shrunk ``max_tokens``, redacted text) back into the SDK call's arguments."""
    if after is before:
        return kwargs
    changed = dict(kwargs)
    if after.max_tokens != before.max_tokens:
        key = "max_completion_tokens" if "max_completion_tokens" in kwargs else "max_tokens"
        changed[key] = after.max_tokens
    changed["messages"] = with_texts(kwargs.get("messages"), before.messages, after.messages)
    return changed


def _completion(response: Any, model: str) -> Completion:
    choice = response.choices[0] if getattr(response, "choices", None) else None
    message = getattr(choice, "message", None)
    usage = getattr(response, "usage", None)
    return Completion(content=str(getattr(message, "content", "") or ""), model=model,
                      finish_reason=getattr(choice, "finish_reason", None) or "stop",
                      usage=Usage(int(getattr(usage, "prompt_tokens", 0) or 0),
                                  int(getattr(usage, "completion_tokens", 0) or 0)),
                      tool_calls=tool_calls_of(getattr(message, "tool_calls", None)))


def _patch_response(response: Any, before: Completion, after: Completion) -> None:
    """Make the SDK object say what the policies decided (tool calls removed past a cap, text changed)."""
    message = response.choices[0].message
    if after.tool_calls != before.tool_calls:
        kept = {c.id for c in after.tool_calls}
        message.tool_calls = [c for c in message.tool_calls or () if c.id in kept] or None
    if after.content != before.content:
        message.content = after.content


def _finish(gate: CallGate, begun: Begun, response: Any, model: str) -> Completion:
    completion = _completion(response, model)
    answered = gate.answered(begun, completion)
    if answered is not completion:
        _patch_response(response, completion, answered)
    return answered


class _Tally:
    """What a stream has said so far, for its record when it ends (usage only if the server sent it)."""

    def __init__(self, model: str, request: CompletionRequest) -> None:
        self.model, self.request = model, request
        self.parts: list[str] = []
        self.usage: Usage | None = None
        self.finish: str | None = None

    def add(self, chunk: Any) -> None:
        for choice in getattr(chunk, "choices", None) or ():
            text = getattr(getattr(choice, "delta", None), "content", None)
            if text:
                self.parts.append(text)
            self.finish = getattr(choice, "finish_reason", None) or self.finish
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = Usage(int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0))

    def completion(self) -> Completion:
        from cascadeflow.budget.agent_hooks import request_texts
        from cascadeflow.budget.planner import prompt_tokens_upper_bound

        estimated = self.usage is None
        usage = self.usage or Usage(prompt_tokens_upper_bound(request_texts(self.request)), len(self.parts))
        return Completion(content="".join(self.parts), model=self.model, usage=usage, usage_estimated=estimated,
                          finish_reason=self.finish or "stop")


SDK = SdkCall(PROVIDER, _request, _apply, _finish, _Tally)


def instrument() -> Callable[[], None]:
    """Patch the SDK's chat completions; returns the undo."""
    from openai.resources.chat import completions as module

    return patch(module.Completions, module.AsyncCompletions, SDK)
