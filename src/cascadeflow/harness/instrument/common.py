"""What the SDK wrappers share: a call of an SDK client goes through the run's hooks like a cascade call.

An SDK call becomes a one-tier :class:`~cascadeflow.cascade.calls.CallGate` call: the active run sessions are
asked before it (they may shrink ``max_tokens`` or redact messages, or stop the run), see its answer (they may
remove tool calls past a cap), and get its record after (usage from the SDK's response, cost at the catalogue
price — or counted as unpriced, never as free). Outside a run nothing happens.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, Protocol, TypeVar

from cascadeflow.cascade.calls import Begun, CallGate
from cascadeflow.cascade.hooks import TierInfo, active_hooks
from cascadeflow.cascade.result import StepRecord
from cascadeflow.config import ModelConfig
from cascadeflow.pricing import Price
from cascadeflow.types import Completion, CompletionRequest, Message, ToolCall, Usage

T = TypeVar("T")
UNKNOWN_PRICE: Final = Price(Decimal(0), Decimal(0), source="unknown")
_ROLES: Final = MappingProxyType({"developer": "system", "function": "tool"})


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a hook coroutine that never waits (run sessions' hooks do not) from synchronous SDK code."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a run hook waited on I/O inside a synchronous SDK call; use the SDK's async client")


def text_of(content: object) -> str:
    """An SDK message's text: a string, or the text parts of a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = [p.get("text", "") if isinstance(p, Mapping) else getattr(p, "text", "") for p in content]
        return "\n".join(str(p) for p in parts if p)
    return ""


def request_of(messages: object, system: object = None, *, max_tokens: object = None,
               user: object = None) -> CompletionRequest:
    """The SDK call as a :class:`CompletionRequest`, leniently (any roles and content shapes): what policies read."""
    found: list[Message] = []
    if system is not None:
        found.append(Message(role="system", content=text_of(system)))
    for raw in messages if isinstance(messages, Sequence) else ():
        role = str(raw.get("role", "user") if isinstance(raw, Mapping) else getattr(raw, "role", "user"))
        content = raw.get("content") if isinstance(raw, Mapping) else getattr(raw, "content", None)
        role = _ROLES.get(role, role)
        found.append(Message(role=role if role in ("system", "user", "assistant", "tool") else "user",  # type: ignore[arg-type]
                             content=text_of(content)))
    metadata = {} if user is None else {"user_id": str(user)}
    tokens = max_tokens if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) else None
    return CompletionRequest(messages=tuple(found), max_tokens=tokens, metadata=metadata)


def with_texts(messages: object, before: Sequence[Message], after: Sequence[Message]) -> list[Any]:
    """The SDK's message list with the string contents a policy changed (redaction) replaced; other shapes kept."""
    out = list(messages) if isinstance(messages, Sequence) else []
    for i, (old, new) in enumerate(zip(before, after, strict=False)):
        item = out[i] if i < len(out) else None
        if old.content != new.content and isinstance(item, dict) and isinstance(item.get("content"), str):
            out[i] = {**item, "content": new.content}
    return out


def open_gate(model: str, provider: str, request: CompletionRequest) -> CallGate | None:
    """A gate over the active run sessions for one SDK call, or None outside any run."""
    hooks = active_hooks()
    if not hooks:
        return None
    from cascadeflow.harness.governor import note_sdk_call

    note_sdk_call()  # inside a call a framework will report too: that report is then not counted again
    from cascadeflow.price_cache import PriceCache

    rate = PriceCache().lookup(model, provider)
    price = UNKNOWN_PRICE if rate is None else Price(rate.input_per_1m, rate.output_per_1m, source="genai-prices")
    config = ModelConfig(name=model, provider=provider, input_price=float(price.input_per_1m),
                         output_price=float(price.output_per_1m))
    tier = TierInfo(0, model, provider, price, config)
    user = request.metadata.get("user_id")
    return CallGate(uuid.uuid4().hex, hooks, (tier,), None if user is None else str(user))


def record(gate: CallGate, begun: Begun, completion: Completion | None, *, error: str | None = None) -> StepRecord:
    """The call's record: what it used and cost (0 and ``unpriced`` when the model has no known price)."""
    tier = gate.tiers[0]
    usage = completion.usage if completion is not None else Usage()
    cost = tier.price.cost(usage)
    outcome = "failed" if error else "answered"
    return StepRecord(tier=0, model=tier.model, provider=tier.provider, action="fallback" if error else "final",
                      reason=f"{tier.model} {outcome} a direct {tier.provider} SDK call.", usage=usage, cost=cost,
                      latency_ms=begun.latency_ms(), error=error,
                      finish_reason=None if completion is None else completion.finish_reason,
                      usage_estimated=completion is not None and completion.usage_estimated,
                      **gate.stamp(begun))  # type: ignore[arg-type]


def tool_calls_of(calls: object) -> tuple[ToolCall, ...]:
    found = []
    for call in calls if isinstance(calls, Sequence) else ():
        function = getattr(call, "function", None)
        found.append(ToolCall(str(getattr(call, "id", "")), str(getattr(function, "name", "")),
                              str(getattr(function, "arguments", "") or "")))
    return tuple(found)


class Tally(Protocol):
    """What a stream said so far (``add`` each item), made a Completion when it ends."""

    def add(self, item: Any) -> None: ...

    def completion(self) -> Completion: ...


class GovernedStream:
    """An SDK's stream, passed through item by item; the call is recorded when it ends, fails or is closed."""

    def __init__(self, inner: Any, gate: CallGate, begun: Begun, tally: Tally) -> None:
        self._inner, self._gate, self._begun, self._tally, self._done = inner, gate, begun, tally, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _end(self, error: str | None = None) -> None:
        if not self._done:
            self._done = True
            completion = self._tally.completion()
            drive(self._gate.end(self._begun, record(self._gate, self._begun, completion, error=error)))

    def __iter__(self) -> Iterator[Any]:
        try:
            for chunk in self._inner:
                self._tally.add(chunk)
                yield chunk
        except Exception as exc:
            self._end(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self._end()

    async def __aiter__(self) -> AsyncIterator[Any]:
        try:
            async for chunk in self._inner:
                self._tally.add(chunk)
                yield chunk
        except Exception as exc:
            self._end(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self._end()

    def __enter__(self) -> GovernedStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._end()
        close = getattr(self._inner, "close", None)
        if callable(close):
            close()

    async def __aenter__(self) -> GovernedStream:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._end()
        close = getattr(self._inner, "close", None)
        if callable(close):
            result = close()
            if hasattr(result, "__await__"):
                await result

    def close(self) -> Any:
        self._end()
        return self._inner.close()
