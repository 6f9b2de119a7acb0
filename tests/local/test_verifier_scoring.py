"""Verify-by-scoring: rules gate first, the next tier scores, fallbacks when it cannot; plus one real model run."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from decimal import Decimal

import pytest

from cascadeflow.cascade.engine import CascadeEngine, Tier
from cascadeflow.cascade.quality.base import CheckResult, ValidationContext, Verdict
from cascadeflow.cascade.quality.verifier_scoring import ScoringSettings, ScoringVerifier, summarize
from cascadeflow.config import ModelConfig, QualityConfig
from cascadeflow.errors import ConfigError, ProviderUnavailableError
from cascadeflow.pricing import Price
from cascadeflow.providers.fakes import FunctionProvider, ScriptedProvider
from cascadeflow.providers.local import LocalLlamaProvider, LocalSettings, ModelPool, ScoredToken
from cascadeflow.types import Completion, CompletionRequest, Message, TokenLogprob

REQUEST = CompletionRequest(messages=(Message("user", "What is the capital of France?"),))
DRAFT = Completion(content="The capital of France is Paris.", model="drafter")


def scored(probs: Sequence[float], tops: Sequence[float] | None = None) -> tuple[TokenLogprob, ...]:
    tops = tops or probs
    pairs = enumerate(zip(probs, tops, strict=True))
    return tuple(ScoredToken(f"t{i}", math.log(p), math.log(t)) for i, (p, t) in pairs)


class FakeScorer(FunctionProvider):
    """A provider that can score: returns scripted token logprobs (or raises) and records each call."""

    def __init__(self, tokens: tuple[TokenLogprob, ...] | Exception) -> None:
        super().__init__(lambda request: "verifier answer", model="verifier")
        self.tokens = tokens
        self.scored: list[tuple[tuple[Message, ...], str]] = []

    async def score(self, messages: Sequence[Message], text: str) -> tuple[TokenLogprob, ...]:
        self.scored.append((tuple(messages), text))
        if isinstance(self.tokens, Exception):
            raise self.tokens
        return self.tokens


class FakeRules:
    """A rule validator that passes or fails on demand and records the thresholds it was run with."""

    def __init__(self, passed: bool = True) -> None:
        self.passed = passed
        self.thresholds: list[float] = []

    def __call__(self, request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        self.thresholds.append(context.threshold)
        check = CheckResult("refusal", 1.0 if self.passed else 0.1, "rule check")
        return Verdict(0.9 if self.passed else 0.1, self.passed, ("rule reason",), (check,), "composite",
                       context.threshold)


def context(provider: object | None) -> ValidationContext:
    return ValidationContext(threshold=0.7, next_provider=provider)  # type: ignore[arg-type]


async def test_likely_draft_is_accepted_by_the_verifier() -> None:
    scorer = FakeScorer(scored([0.95, 0.9, 0.99, 0.8]))
    verdict = await ScoringVerifier(FakeRules())(REQUEST, DRAFT, context(scorer))
    assert verdict.passed and verdict.decided_by == "verifier"
    assert scorer.scored == [(REQUEST.messages, DRAFT.content)]
    assert verdict.score == pytest.approx(math.exp(sum(math.log(p) for p in (0.95, 0.9, 0.99, 0.8)) / 4))
    assert verdict.threshold == ScoringSettings().min_likelihood
    assert {"refusal", "verifier_likelihood", "verifier_agreement", "verifier_tail"} <= set(verdict.scores)
    assert verdict.scores["verifier_agreement"] == 1.0


@pytest.mark.parametrize(
    ("probs", "tops", "signal"),
    [
        ([0.3, 0.4, 0.5, 0.4], None, "likelihood"),  # unlikely throughout
        ([0.9, 0.9, 0.9, 0.9], [0.95, 0.95, 0.95, 0.9], "agreement"),  # likely, but not what it would say
        ([0.999] * 94 + [0.005] * 6, None, "tail"),  # fluent except a few near-impossible tokens
    ],
)
async def test_unlikely_draft_is_rejected_and_the_signal_is_named(
    probs: list[float], tops: list[float] | None, signal: str
) -> None:
    verdict = await ScoringVerifier(FakeRules())(REQUEST, DRAFT, context(FakeScorer(scored(probs, tops))))
    assert not verdict.passed
    assert verdict.decided_by == f"verifier:{signal}"
    assert verdict.threshold is not None and verdict.score < verdict.threshold
    assert "finds the draft unlikely" in verdict.reason


async def test_rules_reject_before_any_scoring() -> None:
    scorer = FakeScorer(scored([0.99]))
    rules = FakeRules(passed=False)
    verdict = await ScoringVerifier(rules)(REQUEST, DRAFT, context(scorer))
    assert not verdict.passed and verdict.decided_by == "composite"
    assert scorer.scored == []
    assert "before scoring" in verdict.reason
    assert rules.thresholds == [ScoringSettings().rule_gate_threshold]  # the rules only gate


@pytest.mark.parametrize("provider", [None, ScriptedProvider(["x"])], ids=["no next tier", "cannot score"])
async def test_without_a_scoring_next_tier_the_rules_decide_at_full_threshold(provider: object | None) -> None:
    rules = FakeRules()
    verdict = await ScoringVerifier(rules)(REQUEST, DRAFT, context(provider))
    assert verdict.passed and verdict.decided_by == "composite"
    assert rules.thresholds == [0.7]
    assert "cannot score" in verdict.reason


async def test_failed_scoring_falls_back_to_the_rules() -> None:
    rules = FakeRules()
    scorer = FakeScorer(ProviderUnavailableError("model crashed", model="verifier", provider="local"))
    verdict = await ScoringVerifier(rules)(REQUEST, DRAFT, context(scorer))
    assert verdict.passed and verdict.decided_by == "composite"
    assert "scoring failed" in verdict.reason and "model crashed" in verdict.reason
    assert rules.thresholds == [ScoringSettings().rule_gate_threshold, 0.7]


async def test_tool_call_drafts_are_left_to_the_rules() -> None:
    from cascadeflow.types import ToolCall

    scorer = FakeScorer(scored([0.99]))
    draft = Completion(content="", model="d", tool_calls=(ToolCall("1", "f", "{}"),))
    await ScoringVerifier(FakeRules())(REQUEST, draft, context(scorer))
    assert scorer.scored == []


async def test_async_rule_validators_are_awaited() -> None:
    async def rules(request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        return Verdict(0.9, True, decided_by="async-rules")

    verdict = await ScoringVerifier(rules)(REQUEST, DRAFT, context(FakeScorer(scored([0.9, 0.95]))))
    assert verdict.passed and verdict.decided_by == "verifier"


def _confident_draft(prob: float) -> Completion:
    return Completion("Paris.", "drafter", logprobs=tuple(TokenLogprob(t, math.log(prob)) for t in ("Par", "is", ".")))


async def test_simple_query_with_a_sure_drafter_skips_the_verifier() -> None:
    scorer = FakeScorer(scored([0.1, 0.1]))
    ctx = ValidationContext(complexity="trivial", threshold=0.7, next_provider=scorer)
    verdict = await ScoringVerifier(FakeRules())(REQUEST, _confident_draft(0.97), ctx)
    assert verdict.passed and verdict.decided_by == "draft_confidence"
    assert scorer.scored == []
    assert verdict.scores["draft_likelihood"] == pytest.approx(0.97)


@pytest.mark.parametrize(
    ("complexity", "prob", "length"),
    [("simple", 0.97, 3), ("trivial", 0.6, 3), ("trivial", 0.97, 40)],
    ids=["not trivial", "unsure", "long answer"],
)
async def test_other_drafts_go_to_the_verifier(complexity: str, prob: float, length: int) -> None:
    scorer = FakeScorer(scored([0.1, 0.1]))
    ctx = ValidationContext(complexity=complexity, threshold=0.7, next_provider=scorer)
    draft = Completion("x " * length, "d", logprobs=tuple(TokenLogprob("x ", math.log(prob)) for _ in range(length)))
    verdict = await ScoringVerifier(FakeRules())(REQUEST, draft, ctx)
    assert len(scorer.scored) == 1
    assert not verdict.passed and verdict.decided_by == "verifier:likelihood"
    assert {"draft_likelihood", "draft_tail", "verifier_likelihood"} <= set(verdict.scores)


def test_summarize_without_top_choices_has_no_agreement() -> None:
    stats = summarize([TokenLogprob("a", math.log(0.5)), TokenLogprob("b", math.log(0.125))], quantile=0.05)
    assert stats.agreement is None
    assert stats.likelihood == pytest.approx(0.25)
    assert stats.tail == pytest.approx(0.125)
    with pytest.raises(ValueError):
        summarize([], quantile=0.1)


def test_summarize_tail_uses_the_quantile_not_the_minimum() -> None:
    probs = [0.9] * 99 + [0.001]
    assert summarize(scored(probs), quantile=0.05).tail == pytest.approx(0.9)
    assert summarize(scored(probs), quantile=0.0).tail == pytest.approx(0.001)


def test_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="min_agreement"):
        ScoringSettings(min_agreement=1.5)
    with pytest.raises(ConfigError, match="self_max_tokens"):
        ScoringSettings(self_max_tokens=2.5)  # type: ignore[arg-type]


class _Simple:
    level = "simple"
    signals: tuple[str, ...] = ()


class _Detector:
    def detect(self, text: str) -> _Simple:
        return _Simple()


def _engine(drafter: ScriptedProvider, verifier: FakeScorer) -> CascadeEngine:
    free = Price(Decimal(0), Decimal(0))
    rules = FakeRules()
    tiers = [
        Tier(ModelConfig("small", provider="local"), drafter, free, ScoringVerifier(rules)),
        Tier(ModelConfig("big", provider="local"), verifier, free),
    ]
    return CascadeEngine(tiers, validator=rules, quality=QualityConfig.for_cascade(), complexity=_Detector())


async def test_engine_keeps_a_draft_the_verifier_finds_likely() -> None:
    verifier = FakeScorer(scored([0.97, 0.92, 0.99]))
    result = await _engine(ScriptedProvider(["Paris."], model="small"), verifier).run(REQUEST)
    assert result.draft_accepted and result.model_used == "small" and result.content == "Paris."
    assert result.steps[0].verdict is not None and result.steps[0].verdict.decided_by == "verifier"
    assert verifier.calls == []  # scored, never asked to answer


async def test_engine_escalates_a_draft_the_verifier_rejects() -> None:
    verifier = FakeScorer(scored([0.2, 0.1, 0.3]))
    result = await _engine(ScriptedProvider(["Lyon."], model="small"), verifier).run(REQUEST)
    assert not result.draft_accepted and result.model_used == "big"
    assert result.content == "verifier answer"
    assert "verifier:likelihood" in result.steps[0].reason


@pytest.mark.local_model
async def test_real_model_finds_its_own_answer_more_likely_than_garbage(smollm2_pool: ModelPool) -> None:
    provider = LocalLlamaProvider(LocalSettings(model="smollm2-135m", n_ctx=1024), pool=smollm2_pool)
    request = CompletionRequest(messages=(Message("user", "Name three colours of the rainbow."),), max_tokens=32)
    fluent = (await provider.complete(request)).content
    words = fluent.split()
    garbage = " ".join(random.Random(7).sample(["zx", "qua", "17", "brr", ";;", "Oslo", "lamp", "##"] * 4, len(words)))
    fluent_stats = summarize(await provider.score(request.messages, fluent), 0.05)
    garbage_stats = summarize(await provider.score(request.messages, garbage), 0.05)
    assert fluent_stats.likelihood > garbage_stats.likelihood
    # Greedy output is, token by token, the model's own top choice; batched scoring kernels differ slightly
    # from one-token decoding, so a rare near-tie may flip (misaligned scoring would agree on ~nothing).
    assert fluent_stats.agreement is not None and fluent_stats.agreement >= 0.9
    assert garbage_stats.agreement is not None and garbage_stats.agreement < 0.5
    verifier = ScoringVerifier(FakeRules())
    good = await verifier(request, Completion(fluent, "d"), context(provider))
    bad = await verifier(request, Completion(garbage, "d"), context(provider))
    assert good.score > bad.score and not bad.passed
