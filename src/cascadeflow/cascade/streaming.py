"""Streaming through the cascade, as typed events.

Live mode shows each tier's text as it arrives; when a draft is then rejected an :class:`Escalation` event
says so (and why) before the next tier's text starts, so a UI can clear or strike the draft. Buffered mode
validates each draft before showing any of it: rejected text is never shown, at the cost of time-to-first-token.
The run ends with a :class:`FinalResult` carrying the same :class:`CascadeResult` that ``run`` returns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeAlias

from cascadeflow.cascade.calls import Begun
from cascadeflow.cascade.deadline import stream_before_deadline
from cascadeflow.cascade.engine import CascadeEngine, RunState, Tier, check_not_empty
from cascadeflow.cascade.result import CascadeResult, StepRecord
from cascadeflow.errors import AllTiersFailedError, ProviderError, StreamInterruptedError
from cascadeflow.types import Completion, CompletionRequest, TokenLogprob, ToolCall, Usage

CHARS_PER_TOKEN = 4
"""English text averages about four characters per token in common tokenizers: the prompt-size estimate of a stream
abandoned before its usage arrived (marked ``usage_estimated``)."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of text from one tier. ``draft`` is True while that text has not been accepted yet."""

    tier: int
    model: str
    text: str
    draft: bool
    type: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class Escalation:
    """The tier's text (if any was shown) is withdrawn; the next tier is being asked."""

    tier: int
    model: str
    next_model: str | None
    action: Literal["escalate", "fallback"]
    reason: str
    type: Literal["escalation"] = "escalation"


@dataclass(frozen=True, slots=True)
class FinalResult:
    """The run is over; ``result`` is what ``agent.run`` would have returned."""

    result: CascadeResult
    type: Literal["final"] = "final"


StreamEvent: TypeAlias = TextDelta | Escalation | FinalResult


async def _collect(
    tier: Tier, index: int, request: CompletionRequest, parts: list[str], *, show: bool, is_draft: bool
) -> AsyncIterator[TextDelta | Completion]:
    """Stream one tier into ``parts``; yield text deltas (if shown) and finally the assembled Completion."""
    finish: str | None = None
    usage: Usage | None = None
    calls: tuple[ToolCall, ...] = ()
    logprobs: list[TokenLogprob] | None = None
    cost: Decimal | None = None
    cached = False
    chunks = stream_before_deadline(tier.provider.stream(request), request.deadline, model=tier.name,
                                    provider=tier.config.provider)
    async for chunk in chunks:
        if chunk.text:
            parts.append(chunk.text)
            if show:
                yield TextDelta(tier=index, model=tier.name, text=chunk.text, draft=is_draft)
        if chunk.logprobs is not None:
            logprobs = [*(logprobs or []), *chunk.logprobs]
        if chunk.tool_calls:
            calls = chunk.tool_calls
        if chunk.usage is not None:
            usage = chunk.usage
        if chunk.cost_usd is not None:
            cost = chunk.cost_usd
        cached = cached or chunk.cached
        if chunk.finish_reason is not None:
            finish = chunk.finish_reason
    if finish is None:
        raise StreamInterruptedError("the stream ended without a finish reason", model=tier.name)
    estimated = usage is None
    if usage is None:  # e.g. llama.cpp's server ignores stream_options.include_usage: count chunks, flag it
        usage = Usage(input_tokens=0, output_tokens=len(parts))
    yield Completion(
        content="".join(parts),
        model=tier.name,
        finish_reason=finish,
        usage=usage,
        tool_calls=calls,
        logprobs=None if logprobs is None else tuple(logprobs),
        usage_estimated=estimated,
        cost_usd=cost,
        cached=cached,
    )


async def stream_cascade(
    engine: CascadeEngine, request: CompletionRequest, *, buffered: bool = False
) -> AsyncIterator[StreamEvent]:
    """Run ``request`` through ``engine`` as a stream of :data:`StreamEvent`."""
    state: RunState = engine.start(request)
    for position in range(len(state.plan)):
        begun = await engine.begin(state, position, "stream")
        index = begun.tier
        tier = engine.tiers[index]
        is_last = position == len(state.plan) - 1 or begun.final
        completion: Completion | None = None
        parts: list[str] = []
        try:
            async for item in _collect(tier, index, begun.request, parts, show=not buffered, is_draft=not is_last):
                if isinstance(item, Completion):
                    completion = check_not_empty(state.gate.answered(begun, item), tier)
                else:
                    yield item
        except ProviderError as exc:
            step = await engine.record_failure(state, position, exc, begun)
            yield _escalation(engine, state, position, index, "fallback", step.reason)
            continue
        except BaseException:  # the consumer stopped reading (aclose) or the task was cancelled
            await state.gate.end(begun, _abandoned(engine, state, begun, parts))
            raise
        assert completion is not None  # _collect always ends with the Completion or raises
        result = await engine.settle(state, position, completion, begun)
        if result is not None:
            if buffered:
                yield TextDelta(tier=index, model=tier.name, text=completion.content, draft=False)
            yield FinalResult(result)
            return
        reason = next(s.reason for s in reversed(state.steps) if s.is_answer)
        yield _escalation(engine, state, position, index, "escalate", reason)
    raise AllTiersFailedError(state.attempts)


def _abandoned(engine: CascadeEngine, state: RunState, begun: Begun, parts: list[str]) -> StepRecord | None:
    """A stream stopped from outside after the tier had sent text: the provider charges for what it generated, so
    the call is recorded (tokens estimated: chunks, and prompt characters / CHARS_PER_TOKEN) for the hooks to settle
    instead of release. None when nothing had arrived yet."""
    if not parts:
        return None
    tier = engine.tiers[begun.tier]
    prompt_chars = sum(len(m.content or "") for m in begun.request.messages)
    usage = Usage(input_tokens=-(-prompt_chars // CHARS_PER_TOKEN), output_tokens=len(parts))
    return StepRecord(
        tier=begun.tier, model=tier.name, provider=tier.config.provider, action="fallback",
        reason=f"{tier.name}'s stream was abandoned by the caller after {len(parts)} chunks.", usage=usage,
        cost=tier.price.cost(usage), latency_ms=begun.latency_ms(), error="cancelled: the caller stopped reading",
        usage_estimated=True, **state.gate.stamp(begun),  # type: ignore[arg-type]
    )


def _escalation(
    engine: CascadeEngine, state: RunState, position: int, index: int, action: Literal["escalate", "fallback"],
    reason: str,
) -> Escalation:
    following = engine.next_tier(state.plan, position)
    nxt = None if following is None else following.name
    return Escalation(tier=index, model=engine.tiers[index].name, next_model=nxt, action=action, reason=reason)
