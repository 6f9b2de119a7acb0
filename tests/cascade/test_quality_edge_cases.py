"""Quality-check edge cases found by probing: broken characters, the reason of a vetoed draft, and digits in
anchors or URLs that are not a sum to work out."""

from __future__ import annotations

import pytest

from cascadeflow import CascadeAgent, ModelConfig, QualityConfig, ScriptedProvider
from cascadeflow.cascade.quality.base import ValidationContext, Verdict
from cascadeflow.cascade.quality.checks.answer_type import AnswerTypeSettings, check_answer_type
from cascadeflow.cascade.quality.checks.degeneration import DegenerationSettings, check_degeneration
from cascadeflow.cascade.quality.composite import build_validator
from cascadeflow.config import CheckSettings
from cascadeflow.types import Completion, CompletionRequest, Message

DEGENERATION = DegenerationSettings()
ANSWER_TYPE = AnswerTypeSettings()
CTX = ValidationContext(threshold=0.7)
SKY = "Why is the sky blue?"
GOOD = "The sky is blue because air molecules scatter short blue wavelengths of sunlight more than red ones."


def request(query: str) -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content=query),))


def draft(content: str) -> Completion:
    return Completion(content=content, model="small")


# --------------------------------------------------------------------------- replacement characters
@pytest.mark.parametrize(
    "text", ["\ufffd\ufffd bad", "\ufffd", "\ufffd ok", f"{GOOD} \ufffd\ufffd", "```\nx = '\ufffd\ufffd'\n```"]
)
def test_replacement_characters_are_a_veto(text: str) -> None:
    result = check_degeneration(request(SKY), draft(text), CTX, DEGENERATION)
    assert result.score == 0.0 and "U+FFFD" in result.reason


def test_one_replacement_character_in_a_long_answer_costs_score_but_is_no_veto() -> None:
    result = check_degeneration(request(SKY), draft(f"{GOOD} It looks \ufffd lovely at noon."), CTX, DEGENERATION)
    assert CheckSettings().veto <= result.score < 1.0 and "U+FFFD" in result.reason


def test_the_composite_rejects_a_broken_answer_it_used_to_accept() -> None:
    verdict = build_validator(QualityConfig.for_cascade())(request(SKY), draft("\ufffd\ufffd bad"), CTX)
    assert isinstance(verdict, Verdict) and not verdict.passed and verdict.decided_by == "degeneration"


# --------------------------------------------------------------------------- the reason names the veto
def test_a_vetoed_draft_whose_score_passed_says_it_was_vetoed() -> None:
    verdict = Verdict(score=0.82, passed=False, reasons=("degeneration: loop",), decided_by="degeneration",
                      threshold=0.70)
    text = verdict.rejection()
    assert verdict.vetoed and text.startswith("vetoed by the degeneration check") and "0.82 < 0.70" not in text
    low = Verdict(score=0.5, passed=False, reasons=("relevance: off topic",), decided_by="relevance", threshold=0.7)
    assert not low.vetoed and "score 0.50 < 0.70" in low.rejection()


async def test_an_escalation_reason_names_the_deciding_veto() -> None:
    def veto(req: CompletionRequest, completion: Completion, ctx: ValidationContext) -> bool:
        return "small" not in completion.model  # a user validator that says no to the small tier only

    quality = QualityConfig.for_cascade(validators=[veto])
    small, large = ScriptedProvider([GOOD], model="small"), ScriptedProvider([GOOD], model="large")
    agent = CascadeAgent(models=[ModelConfig(name="small", provider="fake", cost=0.001),
                                 ModelConfig(name="large", provider="fake", cost=0.01)],
                         providers={"small": small, "large": large}, quality_config=quality)
    result = await agent.run(SKY)
    first = result.steps[0]
    assert first.action == "escalate" and first.verdict is not None
    assert first.verdict.score >= 0.7  # the weighted score alone would have passed...
    assert "vetoed by the veto check" in first.reason  # ...so the reason names the veto, not a false comparison
    assert f"{first.verdict.score:.2f} < 0.70" not in first.reason


# --------------------------------------------------------------------------- numbers in anchors and URLs
@pytest.mark.parametrize(
    "query",
    [
        "What color is the sky? #0-1",
        "Why is the sky blue? See https://example.org/faq?id=3-4#part-2",
        "Summarise [the notes](https://example.org/notes#1-2) in a sentence.",
        "Explain photosynthesis. #section-2-3",
    ],
)
def test_anchors_and_urls_do_not_make_a_question_ask_for_a_number(query: str) -> None:
    result = check_answer_type(request(query), draft("Plants turn light into sugar; the sky looks blue."), CTX,
                               ANSWER_TYPE)
    assert not result.applicable


@pytest.mark.parametrize("query", ["What is 7-3? #0-1", "How many legs does a spider have? #faq"])
def test_real_number_questions_with_an_anchor_still_ask_for_a_number(query: str) -> None:
    assert check_answer_type(request(query), draft("It depends."), CTX, ANSWER_TYPE).score == 0.0


async def test_an_anchor_no_longer_makes_every_draft_escalate() -> None:
    small, large = ScriptedProvider([GOOD], model="small"), ScriptedProvider([GOOD], model="large")
    agent = CascadeAgent(models=[ModelConfig(name="small", provider="fake", cost=0.001),
                                 ModelConfig(name="large", provider="fake", cost=0.01)],
                         providers={"small": small, "large": large})
    result = await agent.run(f"{SKY} #0-1")
    assert result.model_used == "small" and result.draft_accepted
