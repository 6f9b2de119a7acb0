"""The composite validator end to end: realistic small-model drafts in, accept/escalate verdicts out."""

from __future__ import annotations

import pytest

from cascadeflow import CascadeAgent, ModelConfig, ScriptedProvider
from cascadeflow.cascade.quality.base import ValidationContext, Verdict
from cascadeflow.cascade.quality.composite import CompositeValidator, build_validator
from cascadeflow.config import CheckSettings, QualityConfig
from cascadeflow.errors import ConfigError
from cascadeflow.types import Completion, CompletionRequest, Message, ResponseFormat

CTX = ValidationContext(threshold=0.7)
VALIDATOR = build_validator(QualityConfig.for_cascade())


def request(query: str, *, response_format: ResponseFormat | None = None) -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content=query),), response_format=response_format)


def draft(content: str, finish_reason: str = "stop") -> Completion:
    return Completion(content=content, model="small", finish_reason=finish_reason)


def judge(query: str, content: str, *, finish_reason: str = "stop", json: bool = False) -> Verdict:
    verdict = VALIDATOR(request(query, response_format="json" if json else None), draft(content, finish_reason), CTX)
    assert isinstance(verdict, Verdict), "without async user validators the verdict is synchronous"
    return verdict


REJECTED = [
    pytest.param("What is the capital of Australia?", "I'm sorry, but I can't help with that request.", {},
                 "refusal", id="refusal"),
    pytest.param("What color is the sky?", "I'm not sure, I don't know.", {}, "refusal", id="hedge"),
    pytest.param("Who painted the Mona Lisa?", "As an AI, I cannot be certain, but it may have been Raphael.", {},
                 "refusal", id="as-an-ai-hedge"),
    pytest.param(
        "Explain how vaccines train the immune system.",
        "Vaccines expose the immune system to a harmless piece or weakened form of a pathogen, so that B cells "
        "start producing antibodies and memory cells are",
        {"finish_reason": "length"},
        "completeness",
        id="truncated",
    ),
    pytest.param(
        "Explain how photosynthesis converts sunlight into chemical energy in plants.",
        "The French Revolution began in 1789 with the storming of the Bastille, and it transformed European "
        "politics for decades afterwards.",
        {},
        "relevance",
        id="off-topic",
    ),
    pytest.param(
        "How many bones are in the adult human body?",
        "The adult human body has a lot of bones, which support movement and protect the organs.",
        {},
        "answer_type",
        id="number-got-prose",
    ),
    pytest.param(
        "Write a Python function that returns the factorial of n.",
        "```python\ndef factorial(n)\n    if n == 0\n        return 1\n    return n * factorial(n - 1)\n```",
        {},
        "answer_type",
        id="code-got-invalid-code",
    ),
    pytest.param(
        "List three primary colors.",
        "The three primary colors are red, yellow and blue.",
        {"json": True},
        "answer_type",
        id="json-got-prose",
    ),
    pytest.param(
        "Why is the sky blue?",
        "The sky is blue because of Rayleigh scattering. " + "The sky is blue because the sky is blue. " * 20,
        {"finish_reason": "length"},
        "degeneration",
        id="repetition-loop",
    ),
]


@pytest.mark.parametrize(("query", "content", "kw", "decided_by"), REJECTED)
def test_bad_drafts_are_rejected_by_the_right_check(
    query: str, content: str, kw: dict[str, object], decided_by: str
) -> None:
    verdict = judge(query, content, **kw)  # type: ignore[arg-type]
    assert not verdict.passed
    assert verdict.decided_by == decided_by
    assert verdict.threshold == 0.7
    assert any(r.startswith(decided_by) for r in verdict.reasons), verdict.reasons
    assert decided_by in verdict.reason


ACCEPTED = [
    pytest.param("What color is the sky?", "Blue.", {}, id="one-word"),
    pytest.param("What is the capital of France?", "The capital of France is Paris.", {}, id="short-factual"),
    pytest.param(
        "Write a Python function that returns the factorial of n.",
        "Here is a recursive version:\n\n```python\ndef factorial(n: int) -> int:\n    if n <= 1:\n        return 1\n"
        "    return n * factorial(n - 1)\n```\n\nIt runs in O(n) time.",
        {},
        id="code-block",
    ),
    pytest.param(
        "How many bones are in the adult human body?",
        "An adult human has 206 bones. Babies are born with around 270, and many of them fuse as the skeleton "
        "matures.",
        {},
        id="number-with-explanation",
    ),
    pytest.param(
        "Give me a JSON object with the name and age of a fictional person.",
        '{"name": "Ada Quill", "age": 34}',
        {},
        id="json-object",
    ),
    pytest.param(
        "Explain how photosynthesis works.",
        "Photosynthesis is how plants, algae and some bacteria turn light into chemical energy.\n\n"
        "In the light-dependent reactions, chlorophyll in the thylakoid membranes absorbs sunlight and uses "
        "its energy to split water, releasing oxygen and producing ATP and NADPH.\n\n"
        "In the Calvin cycle, which runs in the stroma, the enzyme RuBisCO fixes carbon dioxide, and the ATP "
        "and NADPH from the first stage power its conversion into glucose that the plant uses to grow.",
        {},
        id="multi-paragraph",
    ),
    pytest.param(
        "Describe a user with a name and an email address.",
        '```json\n{"name": "Sam", "email": "sam@example.com"}\n```',
        {"json": True},
        id="fenced-json-response-format",
    ),
]


@pytest.mark.parametrize(("query", "content", "kw"), ACCEPTED)
def test_solid_drafts_are_accepted(query: str, content: str, kw: dict[str, object]) -> None:
    verdict = judge(query, content, **kw)  # type: ignore[arg-type]
    assert verdict.passed, verdict.reasons
    assert verdict.decided_by == "composite"
    assert 0.7 <= verdict.score <= 1.0
    assert verdict.reasons


def test_verdict_lists_every_applicable_check_and_its_score() -> None:
    verdict = judge("How many bones are in the adult human body?", "There are 206 bones in an adult body.")
    assert set(verdict.scores) == {"completeness", "refusal", "degeneration", "answer_type", "relevance"}
    assert all(0.0 <= s <= 1.0 for s in verdict.scores.values())
    assert verdict.reasons == ("all checks passed",)


def test_a_weighted_mean_below_threshold_fails_without_a_veto() -> None:
    verdict = VALIDATOR(request("What color is the sky?"), draft("Blue."), ValidationContext(threshold=0.95))
    assert isinstance(verdict, Verdict)
    assert not verdict.passed and verdict.decided_by == "relevance"
    assert verdict.reasons and verdict.reasons[0].startswith("relevance:")


def test_a_zero_weight_turns_a_check_off() -> None:
    validator = build_validator(QualityConfig.for_cascade(checks=CheckSettings(weights={"refusal": 0.0})))
    assert "refusal" not in validator.check_names
    verdict = validator(request("What is 2 + 2?"), draft("I'm not sure, but 4."), CTX)
    assert isinstance(verdict, Verdict) and verdict.passed


# --------------------------------------------------------------------------- user validators
GOOD_Q, GOOD_A = "What is the capital of France?", "The capital of France is Paris."


def mentions_paris(req: CompletionRequest, d: Completion, ctx: ValidationContext) -> bool:
    return "paris" in d.content.lower()


def test_user_validator_can_veto_a_draft_the_builtins_accept() -> None:
    def no_capital_letters(req: CompletionRequest, d: Completion, ctx: ValidationContext) -> Verdict:
        return Verdict(score=0.9, passed=d.content.islower(), reasons=("answer must be lower case",))

    validator = build_validator(QualityConfig.for_cascade(validators=[mentions_paris, no_capital_letters]))
    verdict = validator(request(GOOD_Q), draft(GOOD_A), CTX)
    assert isinstance(verdict, Verdict)
    assert not verdict.passed and verdict.decided_by == "no_capital_letters"
    assert "no_capital_letters: answer must be lower case" in verdict.reasons
    assert verdict.scores["mentions_paris"] == 1.0


def test_user_validator_float_is_compared_with_the_threshold() -> None:
    def judge_score(req: CompletionRequest, d: Completion, ctx: ValidationContext) -> float:
        return 0.5

    verdict = build_validator(QualityConfig.for_cascade(validators=[judge_score]))(request(GOOD_Q), draft(GOOD_A), CTX)
    assert isinstance(verdict, Verdict)
    assert not verdict.passed and verdict.decided_by == "judge_score"
    assert "judge_score: score 0.50 < threshold 0.70" in verdict.reasons


def test_user_validator_passing_keeps_the_draft() -> None:
    verdict = build_validator(QualityConfig.for_cascade(validators=[mentions_paris]))(request(GOOD_Q), draft(GOOD_A),
                                                                                      CTX)  # fmt: skip
    assert isinstance(verdict, Verdict) and verdict.passed


async def test_async_user_validator_returns_an_awaitable_verdict() -> None:
    seen: list[str] = []

    async def llm_judge(req: CompletionRequest, d: Completion, ctx: ValidationContext) -> Verdict:
        seen.append(d.content)
        return Verdict(score=0.2, passed=False, reasons=("the judge disagrees",))

    validator = build_validator(QualityConfig.for_cascade(validators=[mentions_paris, llm_judge]))
    outcome = validator(request(GOOD_Q), draft(GOOD_A), CTX)
    assert not isinstance(outcome, Verdict) and hasattr(outcome, "__await__")
    verdict = await outcome
    assert seen == [GOOD_A]
    assert not verdict.passed and verdict.decided_by == "llm_judge"
    assert "llm_judge: the judge disagrees" in verdict.reasons


async def test_async_user_validator_can_pass() -> None:
    async def approve(req: CompletionRequest, d: Completion, ctx: ValidationContext) -> bool:
        return True

    outcome = build_validator(QualityConfig.for_cascade(validators=[approve]))(request(GOOD_Q), draft(GOOD_A), CTX)
    assert not isinstance(outcome, Verdict)
    verdict = await outcome
    assert verdict.passed and verdict.scores["approve"] == 1.0


def test_user_validators_are_skipped_once_a_builtin_check_vetoed() -> None:
    calls: list[str] = []

    def expensive_judge(req: CompletionRequest, d: Completion, ctx: ValidationContext) -> bool:
        calls.append(d.content)
        return True

    validator = build_validator(QualityConfig.for_cascade(validators=[expensive_judge]))
    verdict = validator(request(GOOD_Q), draft("I don't know."), CTX)
    assert isinstance(verdict, Verdict) and not verdict.passed and verdict.decided_by == "refusal"
    assert calls == []


def test_user_validator_returning_nonsense_raises_config_error() -> None:
    def broken(req: CompletionRequest, d: Completion, ctx: ValidationContext) -> str:
        return "yes"

    validator = CompositeValidator(validators=[broken])
    with pytest.raises(ConfigError, match="broken"):
        validator(request(GOOD_Q), draft(GOOD_A), CTX)


# --------------------------------------------------------------------------- through the agent
def two_tiers(small: list[object], large: list[object]) -> tuple[CascadeAgent, ScriptedProvider, ScriptedProvider]:
    fakes = ScriptedProvider(small, model="small"), ScriptedProvider(large, model="large")  # type: ignore[arg-type]
    agent = CascadeAgent(
        models=[ModelConfig("small", provider="fake", cost=0.0001), ModelConfig("large", provider="fake", cost=0.01)],
        providers={f.model: f for f in fakes},
    )
    return agent, fakes[0], fakes[1]


async def test_agent_keeps_a_good_short_draft_and_escalates_an_off_topic_one() -> None:
    agent, small, large = two_tiers(["Blue."], [])
    kept = await agent.run("What color is the sky?")
    assert kept.model_used == "small" and kept.draft_accepted
    assert kept.complexity in ("trivial", "simple")

    off_topic = (
        "The stock market closed higher today as investors cheered strong earnings from technology firms and "
        "lower bond yields."
    )
    good = "Plants use chlorophyll to capture sunlight and turn water and carbon dioxide into glucose and oxygen."
    agent, small, large = two_tiers([off_topic], [good])
    result = await agent.run("Explain how photosynthesis converts sunlight into chemical energy in plants.")
    assert result.model_used == "large" and result.content == good
    first = result.steps[0]
    assert first.action == "escalate" and first.verdict is not None and first.verdict.decided_by == "relevance"
    small.assert_exhausted()
    large.assert_exhausted()


def test_user_validators_with_the_same_name_are_told_apart() -> None:
    validator = build_validator(
        QualityConfig.for_cascade(validators=[lambda r, d, c: True, lambda r, d, c: False])
    )
    assert validator.check_names[-2:] == ("<lambda>", "<lambda>#2")
    verdict = validator(request(GOOD_Q), draft(GOOD_A), CTX)
    assert isinstance(verdict, Verdict) and not verdict.passed and verdict.decided_by == "<lambda>#2"
