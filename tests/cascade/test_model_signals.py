"""The opt-in validators that ask a model: P(True) from the next tier's scores, self-consistency samples."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from cascadeflow.cascade.quality.base import ValidationContext, Verdict
from cascadeflow.cascade.quality.composite import build_validator
from cascadeflow.cascade.quality.p_true import PTrueSettings, PTrueValidator
from cascadeflow.cascade.quality.self_consistency import (
    SelfConsistencySettings,
    SelfConsistencyValidator,
    same_answer,
    word_f1,
)
from cascadeflow.config import QualityConfig
from cascadeflow.errors import ConfigError, ProviderError
from cascadeflow.providers.fakes import FunctionProvider, ScriptedProvider
from cascadeflow.types import Completion, CompletionRequest, Message, TokenLogprob

RULES = build_validator(QualityConfig.for_cascade())


def request(query: str) -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content=query),))


class Judge:
    """Scores "True" with probability ``p_true`` (and "False" with the rest); remembers what it was shown."""

    model = "judge"

    def __init__(self, p_true: float, fail: bool = False) -> None:
        self.p_true, self.fail = p_true, fail
        self.prompts: list[str] = []

    async def score(self, messages: Sequence[Message], text: str) -> tuple[TokenLogprob, ...]:
        if self.fail:
            raise ProviderError("scoring backend down", model="judge", provider="fake")
        self.prompts.append(messages[-1].content or "")
        p = self.p_true if text == "True" else 1.0 - self.p_true
        return (TokenLogprob(text, math.log(p)),)


async def judge_with(judge: Judge | None, answer: str, settings: PTrueSettings | None = None) -> Verdict:
    context = ValidationContext(threshold=0.7, next_provider=judge)  # type: ignore[arg-type]
    return await PTrueValidator(RULES, settings)(request("What is the capital of France?"),
                                                  Completion(answer, "small"), context)


async def test_p_true_keeps_what_the_next_tier_believes_and_shows_it_the_draft() -> None:
    believed = Judge(0.9)
    verdict = await judge_with(believed, "Paris is the capital of France.")
    assert verdict.passed and verdict.score == pytest.approx(0.9) and verdict.decided_by == "p_true"
    assert "Proposed answer: Paris" in believed.prompts[0] and "capital of France" in believed.prompts[0]
    doubted = await judge_with(Judge(0.2), "Lyon is the capital of France.")
    assert not doubted.passed and "P(True) 0.20 < 0.50" in doubted.reason
    stricter = await judge_with(Judge(0.6), "Paris.", PTrueSettings(min_p_true=0.7))
    assert not stricter.passed


async def test_p_true_falls_back_to_the_rules_and_never_asks_about_a_broken_draft() -> None:
    assert "cannot score" in (await judge_with(None, "Paris.")).reason
    assert "failed" in (await judge_with(Judge(0.9, fail=True), "Paris.")).reason
    unasked = Judge(0.9)
    assert not (await judge_with(unasked, "I cannot help with that.")).passed and not unasked.prompts
    with pytest.raises(ConfigError, match="min_p_true"):
        PTrueSettings(min_p_true=1.5)


async def sample_with(provider: object, answer: str, query: str) -> Verdict:
    context = ValidationContext(threshold=0.7, provider=provider)  # type: ignore[arg-type]
    return await SelfConsistencyValidator(RULES)(request(query), Completion(answer, "small"), context)


async def test_self_consistency_keeps_an_answer_the_model_gives_again() -> None:
    steady = FunctionProvider(lambda r: "The answer is 42", model="small")
    kept = await sample_with(steady, "I think it is 42", "What is 40 + 2?")
    assert kept.passed and kept.score == 1.0 and len(steady.calls) == 3
    assert all(call.temperature == SelfConsistencySettings().temperature for call in steady.calls)
    scattered = ScriptedProvider(["41", "43", "42"], model="small")
    doubted = await sample_with(scattered, "42", "What is 40 + 2?")
    assert not doubted.passed and doubted.score == pytest.approx(1 / 3)
    words = FunctionProvider(lambda r: "Paris is the capital", model="small")
    assert (await sample_with(words, "The capital is Paris", "What is the capital of France?")).passed


async def test_self_consistency_without_a_provider_or_with_failures_leaves_it_to_the_rules() -> None:
    assert "no provider" in (await sample_with(None, "42", "What is 40 + 2?")).reason
    failing = ScriptedProvider([ProviderError("down", model="small", provider="fake")] * 3, model="small")
    assert "sampling failed" in (await sample_with(failing, "42", "What is 40 + 2?")).reason
    assert word_f1("a b", "c d") == 0.0 and same_answer("Pick.\nA) x\nB) y\nAnswer:", "B", "(B) y", 0.5)
    with pytest.raises(ConfigError, match="samples"):
        SelfConsistencySettings(samples=0)


def test_the_local_pair_can_be_verified_by_p_true_or_scoring() -> None:
    from cascadeflow.cascade.quality.verifier_scoring import ScoringVerifier
    from cascadeflow.local_defaults import DEFAULT_VERIFICATION, local_agent

    judged = {v: local_agent(verification=v, auto_install=False).engine.tiers[0].validator
              for v in ("p_true", "scoring", "default")}
    assert isinstance(judged["p_true"], PTrueValidator) and isinstance(judged["scoring"], ScoringVerifier)
    assert type(judged["default"]) is type(judged[DEFAULT_VERIFICATION])
    with pytest.raises(ConfigError, match="verification"):
        local_agent(verification="vibes", auto_install=False)
