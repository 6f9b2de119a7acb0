"""Streaming through the cascade: draft chunks, escalation events, the next tier's chunks, the final result."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cascadeflow import AllTiersFailedError, CascadeAgent, Completion, ModelConfig, ScriptedProvider
from cascadeflow.cascade.streaming import Escalation, FinalResult, StreamEvent, TextDelta
from cascadeflow.errors import ProviderUnavailableError

SKY = "What color is the sky?"
GOOD = "The sky is blue on a clear day, because air scatters blue sunlight the most."
HEDGE = "I'm not sure, I don't know."


def two_tiers(small: list[object], large: list[object], **kw: object) -> CascadeAgent:
    return CascadeAgent(
        models=[ModelConfig("small", provider="fake", cost=0.1), ModelConfig("large", provider="fake", cost=1.0)],
        providers={
            "small": ScriptedProvider(small, model="small"),  # type: ignore[arg-type]
            "large": ScriptedProvider(large, model="large"),  # type: ignore[arg-type]
        },
        resilience=False,  # cascade logic only: retries are tests/resilience's subject
        **kw,  # type: ignore[arg-type]
    )


async def collect(agent: CascadeAgent, *, buffered: bool = False) -> list[StreamEvent]:
    return [event async for event in agent.stream(SKY, buffered=buffered)]


async def test_live_stream_shows_draft_then_escalation_then_next_tier() -> None:
    events = await collect(two_tiers([HEDGE], [GOOD]))
    kinds = [type(e).__name__ for e in events]
    first_escalation = kinds.index("Escalation")
    assert all(k == "TextDelta" for k in kinds[:first_escalation])
    draft = "".join(e.text for e in events[:first_escalation] if isinstance(e, TextDelta))
    assert draft == HEDGE
    escalation = events[first_escalation]
    assert isinstance(escalation, Escalation) and escalation.next_model == "large"
    assert "refusal" in escalation.reason
    final_text = "".join(e.text for e in events[first_escalation:] if isinstance(e, TextDelta))
    assert final_text == GOOD
    final = events[-1]
    assert isinstance(final, FinalResult) and final.result.model_used == "large"
    assert [s.action for s in final.result.steps] == ["escalate", "final"]


async def test_provider_reported_costs_are_accounted_when_streaming() -> None:
    hedge = Completion(HEDGE, "small", cost_usd=Decimal("0.0001"))
    good = Completion(GOOD, "large", cost_usd=Decimal("0.002"))
    agent = two_tiers([hedge], [good])
    final = (await collect(agent))[-1]
    assert isinstance(final, FinalResult)
    assert [s.cost for s in final.result.steps] == [Decimal("0.0001"), Decimal("0.002")]
    assert final.result.cost == Decimal("0.0021")
    ran = await two_tiers([hedge], [good]).run(SKY)
    assert ran.cost == final.result.cost  # streaming and run account the same way


async def test_buffered_stream_never_shows_rejected_text() -> None:
    events = await collect(two_tiers([HEDGE], [GOOD]), buffered=True)
    shown = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert shown == GOOD
    assert any(isinstance(e, Escalation) for e in events)


async def test_accepted_draft_streams_and_matches_run() -> None:
    events = await collect(two_tiers([GOOD], []))
    final = events[-1]
    assert isinstance(final, FinalResult)
    assert final.result.draft_accepted and final.result.content == GOOD
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == GOOD


async def test_stream_falls_back_on_provider_error_and_raises_when_all_fail() -> None:
    events = await collect(two_tiers([ProviderUnavailableError("down", model="small")], [GOOD]))
    assert isinstance(events[0], Escalation) and events[0].action == "fallback"
    with pytest.raises(AllTiersFailedError):
        await collect(
            two_tiers([ProviderUnavailableError("down")], [ProviderUnavailableError("down too")])
        )


async def test_enable_streaming_run_reports_events_and_returns_the_same_result() -> None:
    seen: list[StreamEvent] = []
    agent = two_tiers([HEDGE], [GOOD], enable_streaming=True)
    result = await agent.run(SKY, on_event=seen.append)
    assert result.model_used == "large"
    assert isinstance(seen[-1], FinalResult) and seen[-1].result is result
