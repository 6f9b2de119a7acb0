"""ReplayProvider: recorded answers come back with their recorded cost, which the engine accounts exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cascadeflow import CascadeAgent
from cascadeflow.cascade.quality.agreement import AgreementValidator, collect_draft
from cascadeflow.errors import ReplayError
from cascadeflow.providers.replay import (
    RecordedAnswer,
    RecordedPrompt,
    ReplayProvider,
    replay_model_config,
)
from cascadeflow.types import CompletionRequest, Message

Q1 = "Pick one.\nA) red\nB) blue\nAnswer:"
Q2 = "Pick another.\nA) cat\nB) dog\nAnswer:"
RECORDS = [
    RecordedPrompt("p1", Q1, {"small": RecordedAnswer("A", 0.00014579999999999997, True),
                             "mid": RecordedAnswer("A\n", 3.1e-4, True),
                             "top": RecordedAnswer("A", 0.00487, True)}),
    RecordedPrompt("p2", Q2, {"small": RecordedAnswer("A", 9.72e-05, False),
                             "mid": RecordedAnswer("B", 2.9e-4, True),
                             "top": RecordedAnswer("B", 0.0035, True)}),
]
EVERY_LEVEL = dict.fromkeys(("trivial", "simple", "moderate", "hard", "expert"), 0)


def _request(query: str, **metadata: str) -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content=query),), metadata=metadata)


async def test_returns_the_recorded_answer_and_cost() -> None:
    provider = ReplayProvider("small", RECORDS)
    completion = await provider.complete(_request(Q1))
    assert completion.content == "A" and completion.model == "small"
    assert completion.cost_usd == Decimal("0.0001458")  # the float's shortest repr, not 0.00014579999...
    assert completion.usage.input_tokens == 0  # RouterBench records no token counts
    tokens = RecordedPrompt("p3", "Q?", {"small": RecordedAnswer("A", 1e-4, True, input_tokens=12, output_tokens=3)})
    counted = await ReplayProvider("small", [tokens]).complete(_request("Q?"))
    assert (counted.usage.input_tokens, counted.usage.output_tokens) == (12, 3)
    by_id = await provider.complete(_request("text that is not recorded", prompt_id="p2"))
    assert by_id.content == "A" and provider.calls == 2 and len(provider) == 2


async def test_unknown_prompt_or_model_raises_replay_error() -> None:
    provider = ReplayProvider("small", RECORDS)
    with pytest.raises(ReplayError, match="no recorded answer for the prompt 'What is new\\?'"):
        await provider.complete(_request("What is new?"))
    with pytest.raises(ReplayError, match="prompt id 'p9'"):
        await provider.complete(_request(Q1, prompt_id="p9"))
    with pytest.raises(ReplayError, match="'huge' has no recorded answers"):
        ReplayProvider("huge", RECORDS)


async def test_stream_yields_the_answer_then_usage() -> None:
    chunks = [c async for c in ReplayProvider("mid", RECORDS).stream(_request(Q2))]
    assert "".join(c.text for c in chunks) == "B"
    assert chunks[-1].finish_reason == "stop" and chunks[-1].usage is not None
    assert chunks[-1].cost_usd == Decimal("0.00029")


async def test_cascade_cost_equals_the_recorded_cost() -> None:
    names = ("small", "mid", "top")
    agent = CascadeAgent(
        [replay_model_config(n) for n in names],
        providers={n: ReplayProvider(n, RECORDS) for n in names},
        tier_validators={"small": collect_draft, "mid": AgreementValidator()},
        start_tiers=EVERY_LEVEL,
    )
    agreed = await agent.run(Q1)
    assert agreed.model_used == "mid"
    assert agreed.cost == RECORDS[0].answers["small"].cost + RECORDS[0].answers["mid"].cost
    # The top model never ran, yet the baseline is its recorded cost for this prompt: savings are exact.
    assert agreed.baseline_cost == Decimal("0.00487")
    assert agreed.cost_saved == pytest.approx(0.00487 - 0.0001458 - 0.00031)
    streamed = [e async for e in agent.stream(Q1)][-1]
    assert streamed.result.cost == agreed.cost  # type: ignore[union-attr]
    escalated = await agent.run(Q2)
    assert escalated.model_used == "top"
    assert escalated.cost == sum((RECORDS[1].answers[n].cost for n in names), Decimal(0))
    assert escalated.cost == Decimal("0.0038872") and escalated.cost_saved == pytest.approx(0.0035 - 0.0038872)
    assert agent.models[0].name == "small"  # equal (zero) replay prices keep the given order


def test_recorded_cost_reads_back_exactly() -> None:
    assert RecordedAnswer("x", 1e-12).cost == Decimal("1e-12")
    assert RecordedAnswer("x", 0.0).cost == Decimal(0)
    assert RecordedAnswer("x", 1.23456789e-3).cost == Decimal("0.00123456789")
    assert ReplayProvider("top", RECORDS).estimate_cost(_request("not recorded")) is None
