"""The one wrapper every patched SDK method gets (sync and async): read the call as a request, ask the run's
hooks, call the SDK with their changes, let them see the answer, record the call — or hand back a governed stream.

What differs between SDKs (argument names, response shapes, stream events) is an :class:`SdkCall`; the flow lives
here once, so both SDKs govern calls identically.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cascadeflow.cascade.calls import Begun, CallGate
from cascadeflow.harness.instrument.common import GovernedStream, Tally, drive, open_gate, record
from cascadeflow.types import Completion, CompletionRequest


@dataclass(frozen=True)
class SdkCall:
    """How one SDK's ``create`` reads and writes: the parts the shared wrapper cannot know."""

    provider: str
    request: Callable[[dict[str, Any]], CompletionRequest]
    """The call's keyword arguments as the request policies read."""
    apply: Callable[[dict[str, Any], CompletionRequest, CompletionRequest], dict[str, Any]]
    """``(kwargs, before, after)``: the arguments carrying the policies' changes (shrunk max_tokens, redactions)."""
    finish: Callable[[CallGate, Begun, Any, str], Completion]
    """``(gate, begun, response, model)``: the answer shown to the hooks, the SDK response patched to match."""
    tally: Callable[[str, CompletionRequest], Tally]
    """``(model, governed request)``: what a stream has said so far, for its record."""


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def wrap_sync(original: Callable[..., Any], sdk: SdkCall) -> Callable[..., Any]:
    @functools.wraps(original)
    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        request = sdk.request(kwargs)
        model = str(kwargs.get("model", ""))
        gate = open_gate(model, sdk.provider, request)
        if gate is None or args:
            return original(self, *args, **kwargs)
        streaming = bool(kwargs.get("stream"))
        begun = drive(gate.begin("stream" if streaming else "complete", 0, request))
        try:
            response = original(self, **sdk.apply(kwargs, request, begun.request))
        except BaseException as exc:
            drive(gate.end(begun, record(gate, begun, None, error=_error(exc))))
            raise
        if streaming:
            return GovernedStream(response, gate, begun, sdk.tally(model, begun.request))
        completion = sdk.finish(gate, begun, response, model)
        drive(gate.end(begun, record(gate, begun, completion)))
        return response

    return create


def wrap_async(original: Callable[..., Any], sdk: SdkCall) -> Callable[..., Any]:
    @functools.wraps(original)
    async def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        request = sdk.request(kwargs)
        model = str(kwargs.get("model", ""))
        gate = open_gate(model, sdk.provider, request)
        if gate is None or args:
            return await original(self, *args, **kwargs)
        streaming = bool(kwargs.get("stream"))
        begun = await gate.begin("stream" if streaming else "complete", 0, request)
        try:
            response = await original(self, **sdk.apply(kwargs, request, begun.request))
        except BaseException as exc:
            await gate.end(begun, record(gate, begun, None, error=_error(exc)))
            raise
        if streaming:
            return GovernedStream(response, gate, begun, sdk.tally(model, begun.request))
        completion = sdk.finish(gate, begun, response, model)
        await gate.end(begun, record(gate, begun, completion))
        return response

    return create


def patch(sync_cls: Any, async_cls: Any, sdk: SdkCall) -> Callable[[], None]:
    """Replace ``create`` of the SDK's sync and async resource classes; returns the undo."""
    originals = (sync_cls.create, async_cls.create)
    sync_cls.create = wrap_sync(originals[0], sdk)
    async_cls.create = wrap_async(originals[1], sdk)

    def undo() -> None:
        sync_cls.create, async_cls.create = originals

    return undo
