"""The label-free rule checks added for the default cascade: arithmetic re-checks, multiple-choice format,
static code checks, and the corroboration default of chains with three or more tiers."""

from __future__ import annotations

import asyncio

import pytest

from cascadeflow.agent import CascadeAgent
from cascadeflow.cascade.quality.arithmetic import final_answer, safe_eval, worked_steps
from cascadeflow.cascade.quality.base import CheckResult, ValidationContext, Verdict
from cascadeflow.cascade.quality.checks.arithmetic import ArithmeticSettings, check_arithmetic
from cascadeflow.cascade.quality.checks.choice import ChoiceSettings, check_choice
from cascadeflow.cascade.quality.checks.code_static import CodeStaticSettings, check_code_static, undefined_names
from cascadeflow.cascade.quality.composite import build_validator
from cascadeflow.cascade.quality.corroboration import CorroborationSettings, CorroborationValidator
from cascadeflow.config import CheckSettings, ModelConfig, QualityConfig
from cascadeflow.errors import ConfigError
from cascadeflow.providers.fakes import FunctionProvider
from cascadeflow.types import Completion, CompletionRequest, Message

SETTINGS = CheckSettings()
CTX = ValidationContext(threshold=0.7)
EGGS = "Tom has 3 boxes of 12 eggs and eats 5. How many eggs are left?"
MC = "Which gas do plants absorb?\nA) oxygen\nB) carbon dioxide\nC) helium\nD) argon\nAnswer:"


def request(query: str) -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content=query),))


def draft(content: str) -> Completion:
    return Completion(content=content, model="small")


def steps_of(text: str) -> list[tuple[str, bool]]:
    return [(s.expression.replace(" ", ""), s.ok) for s in worked_steps(text)]


# --------------------------------------------------------------------------- arithmetic parsing
def test_worked_steps_recompute_chains_annotations_and_prose() -> None:
    assert steps_of("She has 16 - 3 = 13 eggs. Then 13 - 4 = 10 eggs.") == [("16-3", True), ("13-4", False)]
    assert steps_of("colors = <<2*4+3*6=24+18=42>>42") == [("2*4+3*6", False), ("24+18", True)]
    assert steps_of("500 - (100 + 150) = 500 - 250 = 250") == [("500-(100+150)", True), ("500-250", True)]
    assert steps_of("he runs 3 sprints * 60 meters/sprint = 180 meters") == [("3*60", True)]
    assert steps_of("a total of 14 (Monday) + 12 (Tuesday) = 26 apples") == [("14+12", True)]
    assert steps_of("so 9 * $2 = $18 and 1,000 + 500 = 1,500") == [("9*2", True), ("1000+500", True)]
    assert steps_of("5 times 3 = 15; 80 * 25% = 20; (4 / 20) * 100 = 20%") == [
        ("5*3", True), ("80*(25/100)", True), ("(4/20)*100", True)]


@pytest.mark.parametrize("text", [
    "half of 10 + 2 = 7",  # the expression is the tail of a larger one
    "3x + 8 = 38",  # algebra
    "9A - 21 = 339",
    "Step 1 - 16 - 3 = 13",  # a label, not an operand
    "1 year / 3 months = 4 harvests",  # units convert across "/"
    "1 hour + 30 minutes = 90 minutes",
    "14 slices = 10 + 7 + 14 = 31",  # a quantity named before its sum
])
def test_worked_steps_skip_what_they_cannot_read_for_sure(text: str) -> None:
    assert not [s for s in worked_steps(text) if not s.ok]


def test_rounding_to_whole_things_is_marked_not_wrong() -> None:
    (step,) = worked_steps("they need 73 / 8 = <<73/8=9>>9 boxes")
    assert step.ok and step.rounded


def test_final_answer_prefers_a_marked_one() -> None:
    assert final_answer("first 12, then 18.\n#### 1,800") == (1800.0, True)
    assert final_answer("The answer is $18.50.") == (18.5, True)
    assert final_answer("it is 5 apples, not 6") == (6.0, False)
    assert final_answer("no digits here") == (None, False)
    assert safe_eval("__import__('os')") is None


# --------------------------------------------------------------------------- arithmetic check


def arith(answer: str, query: str = EGGS) -> CheckResult:
    return check_arithmetic(request(query), draft(answer), CTX, ArithmeticSettings())


def test_a_consistent_worked_answer_passes() -> None:
    result = arith("3 * 12 = <<3*12=36>>36 eggs, 36 - 5 = <<36-5=31>>31 left.\n#### 31")
    assert result.applicable and result.score == 1.0


@pytest.mark.parametrize(("answer", "finding"), [
    ("3 * 12 = 38 eggs, 38 - 5 = 33 left.\n#### 33", "is 36, not 38"),
    ("3 * 12 = 36 eggs, 36 - 5 = 31 left.\n#### 30", "none of the results"),
    ("3 * 12 = 36 eggs, 36 / 5 = 7.2 left.\n#### 7.2", "fraction"),
    ("3 * 12 = 36 eggs. Assuming he shares, 36 - 5 = 31.\n#### 31", "hedges"),
    ("He had 36 eggs. " + "He ate some of them and now has fewer eggs than before, " * 3 + "so 31.", "no checkable"),
])
def test_arithmetic_findings_veto(answer: str, finding: str) -> None:
    result = arith(answer)
    assert result.score < SETTINGS.veto and finding in result.reason


def test_arithmetic_is_not_applicable_outside_calculations() -> None:
    assert not arith("Paris.", "What is the capital of France?").applicable
    assert not arith("Neil Armstrong", "Who walked on the moon in 1969 after the 1968 orbit?").applicable
    assert not check_arithmetic(request(EGGS), Completion("", "m"), CTX, ArithmeticSettings()).applicable


def test_one_doubt_is_a_veto_only_at_the_default_doubt_score() -> None:
    lenient = ArithmeticSettings(doubt_score=0.5)
    answer = "3 * 12 = 36 eggs. Assuming he shares, 36 - 5 = 31.\n#### 31"
    assert check_arithmetic(request(EGGS), draft(answer), CTX, lenient).score == 0.5
    with pytest.raises(ConfigError, match=r"ArithmeticSettings\.doubt_score"):
        ArithmeticSettings(doubt_score=2)


# --------------------------------------------------------------------------- choice check


@pytest.mark.parametrize(("answer", "passes"), [
    ("B", True), ("B) carbon dioxide", True), ("The answer is (B).", True), ("carbon dioxide", True),
    ("E", False), ("I would say nitrogen", False), ("A) or B)", False),
])
def test_choice_needs_exactly_one_existing_option(answer: str, passes: bool) -> None:
    result = check_choice(request(MC), draft(answer), CTX, ChoiceSettings())
    assert result.applicable and (result.score >= SETTINGS.veto) is passes


def test_multiple_choice_answers_are_not_judged_by_word_overlap() -> None:
    verdict = build_validator(QualityConfig.for_cascade())(request(MC), draft("B"), CTX)
    assert isinstance(verdict, Verdict) and verdict.passed
    assert "relevance" not in verdict.scores and verdict.scores["choice"] == 1.0
    how_many = "How many legs does a spider have?\nA) 6\nB) 8\nAnswer:"
    verdict = build_validator(QualityConfig.for_cascade())(request(how_many), draft("B"), CTX)
    assert isinstance(verdict, Verdict) and verdict.passed  # not "asked for a number, got none"
    assert not check_choice(request("What is 2 + 2?"), draft("4"), CTX, ChoiceSettings()).applicable
    with pytest.raises(ConfigError, match=r"ChoiceSettings\.several_score"):
        ChoiceSettings(several_score=-1)


# --------------------------------------------------------------------------- code check
TASK = "Write a function to add the values of a dictionary."


def code(answer: str) -> CheckResult:
    return check_code_static(request(TASK), draft(answer), CTX, CodeStaticSettings())


def test_sound_code_passes_with_definition_and_usage_blocks_read_together() -> None:
    answer = ("```python\ndef total(d):\n    return sum(d.values())\n```\nUsage:\n"
              "```python\nprint(total({'a': 1}))  # 1\n```")
    assert code(answer).score == 1.0


@pytest.mark.parametrize(("answer", "finding", "vetoed"), [
    ("```python\ndef total(d):\n    pass\n```", "has no body", True),
    ("```python\ndef total(d):\n    return summ(d.values())\n```", "undefined name(s) summ", True),
    ("```python\ndef total(d):\n    return math.fsum(d.values())\n```", "does not import math", False),
    ("```python\nprint(sum({'a': 1}.values()))\n```", "defines no function", True),
    ("```python\ndef total(d):\n    return sum(d.values())\n\nprint(total({}, 1))\n```", "takes 1 argument", True),
])
def test_code_static_findings(answer: str, finding: str, vetoed: bool) -> None:
    result = code(answer)
    assert finding in result.reason and (result.score < SETTINGS.veto) is vetoed


def test_a_skeleton_then_the_full_function_is_judged_by_the_last_definition() -> None:
    answer = ("```python\ndef total(d):\n    return result\n```\nFull version:\n"
              "```python\ndef total(d):\n    result = sum(d.values())\n    return result\n```")
    assert code(answer).score == 1.0
    assert undefined_names("def f():\n    return g()\n") == ["g"]
    assert undefined_names("from os import *\ndef f():\n    return getcwd()\n") == []
    assert not check_code_static(request("What is 2 + 2?"), draft("4"), CTX, CodeStaticSettings()).applicable
    with pytest.raises(ConfigError, match=r"CodeStaticSettings\.stub_score"):
        CodeStaticSettings(stub_score=-1)


# --------------------------------------------------------------------------- corroboration (>= 3 tiers)
def judge(previous: tuple[str, ...], mine: str, query: str = MC) -> Verdict:
    validator = CorroborationValidator(build_validator(QualityConfig.for_cascade()))
    context = ValidationContext(threshold=0.7, previous=tuple(draft(p) for p in previous),
                                previous_models=tuple(f"t{i}" for i in range(len(previous))))
    outcome = validator(request(query), draft(mine), context)
    return outcome if isinstance(outcome, Verdict) else asyncio.run(outcome)  # type: ignore[arg-type]


def test_corroboration_keeps_a_checkable_answer_only_with_a_second_opinion() -> None:
    assert not judge((), "B").passed  # the first draft is only a reference
    assert judge(("B) carbon dioxide",), "B").passed
    assert not judge(("A",), "B").passed
    assert not judge(("nitrogen, surely",), "B").passed  # a vetoed draft is no reference
    math_answer = "3 * 12 = 36, 36 - 5 = 31.\n#### 31"
    assert judge(("12 * 3 = 36 and 36 - 5 = 31, so 31",), math_answer, EGGS).passed
    assert judge((), "Paris is the capital of France.", "What is the capital of France?").passed  # rules decide
    with pytest.raises(ConfigError, match=r"CorroborationSettings\.kinds"):
        CorroborationSettings(kinds=frozenset({"poem"}))


async def test_three_tier_default_escalates_an_uncorroborated_draft_and_keeps_a_corroborated_one() -> None:
    answers = {"small": "B", "middle": "B", "top": "B"}
    calls: list[str] = []

    def provider(name: str) -> FunctionProvider:
        def answer(req: CompletionRequest) -> str:
            calls.append(name)
            return answers[name]

        return FunctionProvider(answer, model=name)

    models = [ModelConfig(name=n, provider="fake", cost=c) for n, c in (("small", 0.1), ("middle", 0.2), ("top", 1))]
    agent = CascadeAgent(models, providers={m.name: provider(m.name) for m in models})
    result = await agent.run(MC)
    assert result.model_used == "middle" and result.draft_accepted and calls == ["small", "middle"]
    answers["middle"] = "A"
    calls.clear()
    result = await agent.run(MC)
    assert result.model_used == "top" and calls == ["small", "middle", "top"]
    two = CascadeAgent(models[::2], providers={m.name: provider(m.name) for m in models[::2]})
    calls.clear()
    assert (await two.run(MC)).model_used == "small" and calls == ["small"]  # two tiers: the rules alone
