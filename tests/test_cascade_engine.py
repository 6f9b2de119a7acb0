"""Behaviour of the N-tier cascade through the public API, with the public fakes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cascadeflow import (
    AllTiersFailedError,
    CascadeAgent,
    CascadeFlowError,
    Completion,
    CompletionRequest,
    ConfigError,
    FunctionProvider,
    ModelConfig,
    ProviderError,
    QualityConfig,
    ScriptedProvider,
    Usage,
    ValidationContext,
    Verdict,
)
from cascadeflow.errors import ProviderUnavailableError

SKY = "What color is the sky?"
GOOD = "The sky is blue on a clear day, because air scatters blue sunlight the most (Rayleigh scattering)."
HEDGE = "I'm not sure, I don't know."


def three_tiers(*scripts: list[object]) -> tuple[CascadeAgent, list[ScriptedProvider]]:
    names = ["small", "medium", "large"]
    costs = [0.0001, 0.001, 0.01]
    fakes = [ScriptedProvider(s, model=n) for n, s in zip(names, scripts, strict=True)]  # type: ignore[arg-type]
    agent = CascadeAgent(
        models=[ModelConfig(name=n, provider="fake", cost=c) for n, c in zip(names, costs, strict=True)],
        providers={f.model: f for f in fakes},
        quality_config=QualityConfig.for_cascade(),
        resilience=False,  # cascade logic only: retries are tests/resilience's subject
    )
    return agent, fakes


async def test_hedging_tier1_escalates_to_tier2_and_never_calls_tier3() -> None:
    agent, (small, medium, large) = three_tiers([HEDGE], [GOOD], [GOOD])
    result = await agent.run(SKY, max_tokens=150)
    assert result.content == GOOD
    assert result.model_used == "medium"
    assert (len(small.calls), len(medium.calls), len(large.calls)) == (1, 1, 0)
    assert [s.action for s in result.steps] == ["escalate", "accept"]
    assert result.draft_accepted is True
    assert result.cascaded is True
    assert result.steps[0].verdict is not None and result.steps[0].verdict.decided_by == "refusal"
    assert "small" in result.reason and "medium" in result.reason


async def test_every_middle_tier_is_used_when_drafts_keep_failing() -> None:
    agent, fakes = three_tiers([HEDGE], ["I cannot help with that."], [GOOD])
    result = await agent.run(SKY)
    assert [len(f.calls) for f in fakes] == [1, 1, 1]
    assert result.model_used == "large"
    assert result.draft_accepted is False
    assert [s.action for s in result.steps] == ["escalate", "escalate", "final"]
    for f in fakes:
        f.assert_exhausted()


async def test_accepted_draft_costs_only_the_cheap_call_and_reports_saving() -> None:
    agent, (small, _, _) = three_tiers([GOOD], [], [])
    result = await agent.run(SKY)
    assert result.model_used == "small" and result.draft_accepted
    usage = small.calls and result.steps[0].usage
    assert usage
    tokens = result.steps[0].usage.total_tokens
    # cost per 1K blended: 0.0001 for small, 0.01 for large
    assert result.cost == Decimal("0.0001") * tokens / 1000
    assert result.cost_saved == pytest.approx(float(Decimal("0.01") * tokens / 1000 - result.cost))
    assert result.total_cost == pytest.approx(float(result.cost))
    assert result.quality_score is not None and result.quality_score >= 0.7


async def test_all_tiers_failing_raises_with_every_cause() -> None:
    boom = [ProviderUnavailableError("HTTP 503 from upstream", model="x")]
    agent, _ = three_tiers(list(boom), list(boom), list(boom))
    with pytest.raises(AllTiersFailedError) as info:
        await agent.run(SKY)
    assert isinstance(info.value, CascadeFlowError)
    assert [a.model for a in info.value.attempts] == ["small", "medium", "large"]
    assert "503" in str(info.value)


async def test_failed_tier_falls_back_and_records_the_cause() -> None:
    agent, _ = three_tiers([ProviderUnavailableError("connection reset", model="small")], [GOOD], [])
    result = await agent.run(SKY)
    assert result.model_used == "medium"
    assert result.steps[0].action == "fallback"
    assert result.steps[0].error is not None and "connection reset" in result.steps[0].error


async def test_empty_answer_is_never_a_success() -> None:
    empty = Completion(content="  ", model="only", usage=Usage(5, 0))
    agent = CascadeAgent(
        models=[ModelConfig("only", provider="fake", cost=0.1)], providers={"only": ScriptedProvider([empty])}
    )
    with pytest.raises(AllTiersFailedError, match="no content"):
        await agent.run(SKY)


async def test_enable_cascade_false_calls_only_the_top_tier() -> None:
    small = ScriptedProvider([], model="small")
    large = ScriptedProvider([GOOD], model="large")
    agent = CascadeAgent(
        models=[ModelConfig("small", provider="fake", cost=0.1), ModelConfig("large", provider="fake", cost=1.0)],
        providers={"small": small, "large": large},
        enable_cascade=False,
    )
    result = await agent.run(SKY)
    assert result.model_used == "large" and not result.draft_accepted and not small.calls
    assert result.cost_saved == 0.0


async def test_max_escalations_makes_the_reached_tier_final() -> None:
    agent, fakes = three_tiers([HEDGE], [HEDGE], [])
    agent.engine = type(agent.engine)(
        agent.engine.tiers,
        validator=agent.engine.validator,
        quality=agent.engine.quality,
        complexity=agent.engine.complexity,
        options=type(agent.engine.options)(max_escalations=1),
    )
    result = await agent.run(SKY)
    assert result.model_used == "medium" and [s.action for s in result.steps] == ["escalate", "final"]
    assert fakes[2].calls == []


async def test_tiers_are_ordered_by_price_whatever_the_input_order() -> None:
    agent = CascadeAgent(
        models=[ModelConfig("pricey", provider="fake", cost=1.0), ModelConfig("cheap", provider="fake", cost=0.01)],
        providers={"pricey": ScriptedProvider([]), "cheap": ScriptedProvider([])},
    )
    assert [m.name for m in agent.models] == ["cheap", "pricey"]


async def test_given_tier_order_is_kept_and_walked_as_listed() -> None:
    mid = ScriptedProvider([""], model="mid")  # an empty draft never passes the default checks
    cheap = ScriptedProvider([GOOD], model="cheap")
    top = ScriptedProvider([GOOD], model="top")
    agent = CascadeAgent(
        models=[ModelConfig("mid", provider="fake", cost=0.1), ModelConfig("cheap", provider="fake", cost=0.01),
                ModelConfig("top", provider="fake", cost=1.0)],
        providers={"mid": mid, "cheap": cheap, "top": top},
        tier_order="given",
    )
    assert [m.name for m in agent.models] == ["mid", "cheap", "top"]
    result = await agent.run(SKY)
    assert [s.model for s in result.steps] == ["mid", "cheap"] and result.model_used == "cheap"
    assert len(mid.calls) == 1 and top.calls == []


def test_unknown_tier_order_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="tier_order"):
        CascadeAgent(models=[ModelConfig("a", provider="fake")], providers={"a": ScriptedProvider([])},
                     tier_order="alphabetical")


async def test_start_tier_is_configurable_by_complexity() -> None:
    small = ScriptedProvider([], model="small")
    large = ScriptedProvider([GOOD], model="large")
    agent = CascadeAgent(
        models=[ModelConfig("small", provider="fake", cost=0.1), ModelConfig("large", provider="fake", cost=1.0)],
        providers={"small": small, "large": large},
        start_tiers={"trivial": -1},
    )
    result = await agent.run(SKY)
    assert result.complexity == "trivial" and result.model_used == "large" and not small.calls


async def test_conversation_roles_reach_the_provider_intact() -> None:
    seen: list[CompletionRequest] = []

    def answer(request: CompletionRequest) -> str:
        seen.append(request)
        return "Paris is the capital of France, and it is also its largest city."

    agent = CascadeAgent(
        models=[ModelConfig("only", provider="fake", cost=0.1)], providers={"only": FunctionProvider(answer)}
    )
    convo = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Capital of Italy?"},
        {"role": "assistant", "content": "Rome."},
        {"role": "user", "content": "And the capital of France?"},
    ]
    await agent.run(convo)
    assert [m.role for m in seen[0].messages] == ["system", "user", "assistant", "user"]
    assert seen[0].messages[2].content == "Rome."


async def test_user_validator_can_veto_a_draft() -> None:
    def no_blue(request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        ok = "blue" not in draft.content
        return Verdict(score=1.0 if ok else 0.0, passed=ok, reasons=("mentions blue",), decided_by="no_blue")

    small = ScriptedProvider([GOOD], model="small")
    large = ScriptedProvider(["The sky looks azure during the day because of Rayleigh scattering of sunlight."])
    agent = CascadeAgent(
        models=[ModelConfig("small", provider="fake", cost=0.1), ModelConfig("large", provider="fake", cost=1.0)],
        providers={"small": small, "large": large},
        validator=no_blue,
    )
    result = await agent.run(SKY)
    assert result.model_used == "large"
    assert "no_blue" in result.steps[0].reason


async def test_run_batch_keeps_order_and_can_return_exceptions() -> None:
    def answer(request: CompletionRequest) -> str:
        if "fail" in request.query:
            raise ProviderUnavailableError("down", model="only")
        return f"The answer about {request.query} is that it depends on {request.query} itself, clearly."

    agent = CascadeAgent(
        models=[ModelConfig("only", provider="fake", cost=0.1)], providers={"only": FunctionProvider(answer)}
    )
    out = await agent.run_batch(["alpha topic", "fail now", "gamma topic"], concurrency=2, return_exceptions=True)
    assert isinstance(out[1], AllTiersFailedError)
    assert "alpha" in getattr(out[0], "content", "") and "gamma" in getattr(out[2], "content", "")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "ModelConfig.name"),
        ({"name": "m", "cost": -1}, "ModelConfig.cost"),
        ({"name": "m", "input_price": 1.0}, "ModelConfig.input_price"),
        ({"name": "m", "base_url": "localhost:8000"}, "ModelConfig.base_url"),
        ({"name": "m", "timeout_s": 0}, "ModelConfig.timeout_s"),
    ],
)
def test_invalid_model_config_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        ModelConfig(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field and field in str(info.value)


def test_invalid_quality_config_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"confidence_thresholds\['wild'\]"):
        QualityConfig(confidence_thresholds={"wild": 0.5})
    with pytest.raises(ConfigError, match="simple"):
        QualityConfig(confidence_thresholds={"simple": 1.5})
    assert QualityConfig.strict().threshold_for("trivial") == 0.95
    partial = QualityConfig(confidence_thresholds={"trivial": 0.6, "hard": 0.8})
    assert partial.threshold_for("expert") == 0.7  # unspecified levels keep the default preset's value
    assert partial.threshold_for("hard") == 0.8 and partial.threshold_for("trivial") == 0.6
    # the quickstart's troubleshooting line changes one level only
    assert QualityConfig(confidence_thresholds={"moderate": 0.6}).confidence_thresholds == {
        "trivial": 0.7, "simple": 0.7, "moderate": 0.6, "hard": 0.7, "expert": 0.7}
    production = QualityConfig.for_production(confidence_thresholds={"moderate": 0.75})
    assert production.threshold_for("moderate") == 0.75 and production.threshold_for("hard") == 0.8


def test_unknown_provider_and_unpriced_model_fail_at_construction() -> None:
    with pytest.raises(ConfigError, match="unknown provider 'nope'"):
        CascadeAgent(models=[ModelConfig("m", provider="nope", cost=0.1)])
    with pytest.raises(ConfigError, match="duplicate model name"):
        CascadeAgent(
            models=[ModelConfig("m", provider="fake", cost=0.1), ModelConfig("m", provider="fake", cost=0.2)],
            providers={"m": ScriptedProvider([])},
        )


async def test_provider_errors_are_cascadeflow_errors() -> None:
    assert issubclass(ProviderError, CascadeFlowError)
    agent = CascadeAgent(
        models=[ModelConfig("only", provider="fake", cost=0.1)], providers={"only": ScriptedProvider([])}
    )
    with pytest.raises(ConfigError, match="query"):
        await agent.run("   ")
    with pytest.raises(ConfigError, match="max_tokens"):
        await agent.run(SKY, max_tokens=0)


async def test_verbose_logs_every_step_without_configuring_the_library_logger(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    from cascadeflow import CascadeAgent, ModelConfig, ScriptedProvider

    logger = logging.getLogger("cascadeflow")
    handlers, level = list(logger.handlers), logger.level
    agent = CascadeAgent(
        models=[ModelConfig("small", cost=0.001), ModelConfig("big", cost=0.01)],
        providers={"small": ScriptedProvider(["I am not sure, I cannot answer that."]),
                   "big": ScriptedProvider(["Paris is the capital of France."])},
        verbose=True,
    )
    with caplog.at_level(logging.INFO, logger="cascadeflow"):  # an application that configured logging
        await agent.run("What is the capital of France?")
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "[cascadeflow] tier 0 small", "[cascadeflow] tier 1 big"]
    assert logger.handlers == handlers and logger.level == level  # nothing attached or changed
