"""Answer normalisation and the agreement validator, alone and inside a real CascadeAgent."""

from __future__ import annotations

import pytest

from cascadeflow import CascadeAgent, ModelConfig
from cascadeflow.cascade.quality.agreement import (
    AgreementValidator,
    collect_draft,
    detect_kind,
    final_number,
    normalize_answer,
    normalize_choice,
    normalize_code,
    parse_options,
)
from cascadeflow.cascade.quality.base import ValidationContext
from cascadeflow.errors import ConfigError
from cascadeflow.providers.fakes import ScriptedProvider
from cascadeflow.types import Completion, CompletionRequest, Message

FEW_SHOT = (
    "Which is a mammal?\nA) shark\nB) whale\nC) trout\nD) eel\nAnswer:\nB\n\n"
    "What gas do plants absorb?\nA) oxygen\nB) nitrogen\nC) carbon dioxide\nD) helium\n"
    'Print only a single choice from "A" or "B" or "C" or "D".\nAnswer:'
)
WINO = "The trophy doesn't fit in the suitcase because _ is too big.\nA) trophy\nB) suitcase\nAnswer:"
NUMBERED = "Pick the larger one.\n1) seven\n2) three\nAnswer:"


def test_parse_options_takes_the_last_block_of_a_few_shot_prompt() -> None:
    assert parse_options(FEW_SHOT) == (("A", "oxygen"), ("B", "nitrogen"), ("C", "carbon dioxide"), ("D", "helium"))
    assert parse_options("What is the capital of France?") == ()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("C", "2"), ("C\n", "2"), ("C)", "2"), ("(C) carbon dioxide", "2"), ("The answer is C.", "2"),
     ("Answer: C", "2"), ("carbon dioxide", "2"), ("carbon diox", "2"), ("option 3", "2"), ("A", "0"),
     ("I do not know", None), ("Okay,", None)],
)
def test_choice_answers_normalise_to_the_option_position(answer: str, expected: str | None) -> None:
    assert normalize_choice(answer, FEW_SHOT) == expected


def test_truncated_option_text_and_numbered_options() -> None:
    assert normalize_choice("troph", WINO) == "0"
    assert normalize_choice("B\n", WINO) == "1"
    assert normalize_choice("2", NUMBERED) == "1"
    assert normalize_choice("B", NUMBERED) == "1"  # a letter for numbered options counts by position
    assert normalize_choice("E", FEW_SHOT) is None  # not one of the options


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("so 9 * 2 = 18\n#### 18", "18"), ("#### 1,000", "1000"), ("The answer is $18.00.", "18"),
     ("\\boxed{3.5}", "3.5"), ("She has 4 apples, then 7 apples", "7"), ("no digits here", None),
     ("#### -2", "-2")],
)
def test_final_number(answer: str, expected: str | None) -> None:
    assert final_number(answer) == expected


def test_code_agrees_across_names_docstrings_and_example_calls() -> None:
    a = '```python\ndef add(a, b):\n    """Sum."""\n    return a + b\n\nprint(add(1, 2))\n```'
    b = "Here you go:\n```py\ndef plus(x, y):\n    # adds\n    return x + y\n```\nIt adds."
    c = "```python\ndef add(a, b):\n    return a - b\n```"
    js = "```javascript\nfunction add(a, b) { return a + b; }\n```"
    assert normalize_code(a) == normalize_code(b) is not None
    assert normalize_code(a) != normalize_code(c)
    assert normalize_code(js) is None
    assert normalize_code("[PYTHON]\ndef add(p, q):\n    return p + q\n[/PYTHON]") == normalize_code(a)


def test_detect_kind() -> None:
    assert detect_kind(FEW_SHOT) == "choice"
    assert detect_kind("Write a function to reverse a string.") == "code"
    assert detect_kind("Tom has 3 apples and buys 5 more. How many now?") == "number"
    assert detect_kind("Why is the sky blue?") == "text"
    assert normalize_answer("Rayleigh scattering!", "Why is the sky blue?") == "text:rayleigh scattering"


def _request(query: str) -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content=query),))


def _draft(text: str, model: str) -> Completion:
    return Completion(content=text, model=model)


def test_validator_scores_the_agreeing_fraction_of_earlier_drafts() -> None:
    validator = AgreementValidator()
    previous = (_draft("C", "small"), _draft("B", "medium"))
    verdict = validator(_request(FEW_SHOT), _draft("(C) carbon dioxide", "large"),
                        ValidationContext(threshold=0.5, previous=previous))
    assert verdict.score == 0.5 and verdict.passed
    assert verdict.decided_by == "agreement" and "small" in verdict.reason
    strict = validator(_request(FEW_SHOT), _draft("C", "large"), ValidationContext(threshold=1.0, previous=previous))
    assert not strict.passed


def test_validator_rejects_without_earlier_drafts_or_a_readable_answer() -> None:
    validator = AgreementValidator()
    alone = validator(_request(FEW_SHOT), _draft("C", "m"), ValidationContext(threshold=0.0))
    assert not alone.passed and "no earlier draft" in alone.reason
    unreadable = validator(_request(FEW_SHOT), _draft("Okay,", "m"),
                           ValidationContext(threshold=0.0, previous=(_draft("Okay,", "x"),)))
    assert not unreadable.passed and "could not read" in unreadable.reason


def test_peers_and_min_agree() -> None:
    previous = (_draft("C", "small"), _draft("C", "medium"))
    only_medium = AgreementValidator(peers=("medium",))
    small_only = ValidationContext(threshold=1.0, previous=previous[:1])
    assert only_medium(_request(FEW_SHOT), _draft("C", "large"), small_only).score == 0.0
    two = AgreementValidator(min_agree=2)
    context = ValidationContext(threshold=0.0, previous=previous[:1])
    assert not two(_request(FEW_SHOT), _draft("C", "large"), context).passed
    assert two(_request(FEW_SHOT), _draft("C", "large"), ValidationContext(threshold=0.0, previous=previous)).passed
    with pytest.raises(ConfigError, match="kind"):
        AgreementValidator(kind="poem")
    with pytest.raises(ConfigError, match="min_agree"):
        AgreementValidator(min_agree=0)


def test_peers_are_tier_names_matched_exactly() -> None:
    # The backend reports dated names; the engine passes the configured tier names alongside.
    previous = (_draft("C", "gpt-4o-mini-2024-07-18"), _draft("B", "gpt-4o-2024-08-06"))
    context = ValidationContext(threshold=1.0, previous=previous, previous_models=("gpt-4o-mini", "gpt-4o"))
    only_4o = AgreementValidator(peers=("gpt-4o",))  # not a prefix match on "gpt-4o-mini"
    verdict = only_4o(_request(FEW_SHOT), _draft("C", "top"), context)
    assert verdict.score == 0.0 and "0 of 1" in verdict.reason
    mini = AgreementValidator(peers=("gpt-4o-mini",))(_request(FEW_SHOT), _draft("C", "top"), context)
    assert mini.passed and "(gpt-4o-mini)" in mini.reason


def test_collect_never_accepts() -> None:
    verdict = collect_draft(_request(FEW_SHOT), _draft("C", "m"), ValidationContext(threshold=0.0))
    assert not verdict.passed and verdict.decided_by == "collect"


async def _agent(answers: dict[str, list[str]]) -> tuple[CascadeAgent, dict[str, ScriptedProvider]]:
    providers = {name: ScriptedProvider(script, model=name) for name, script in answers.items()}
    models = [ModelConfig(name, provider="openai", input_price=p, output_price=p)
              for name, p in (("small", 0.1), ("medium", 0.2), ("top", 10.0))]
    models[1] = models[1].with_(quality_threshold=1.0)
    agent = CascadeAgent(models, providers=providers, start_tiers=dict.fromkeys(
        ("trivial", "simple", "moderate", "hard", "expert"), 0),
        tier_validators={"small": collect_draft, "medium": AgreementValidator()})
    return agent, providers


async def test_agreeing_second_tier_is_accepted_by_the_real_engine() -> None:
    agent, providers = await _agent({"small": ["C"], "medium": ["C)"], "top": []})
    result = await agent.run(FEW_SHOT)
    assert result.model_used == "medium" and result.draft_accepted
    assert [s.action for s in result.steps] == ["escalate", "accept"]
    providers["top"].assert_exhausted()


async def test_engine_names_earlier_drafts_by_tier_not_by_reported_model() -> None:
    providers = {"small": ScriptedProvider(["C"], model="small-v2-0613"), "medium": ScriptedProvider(["C"]),
                 "top": ScriptedProvider([])}
    models = [ModelConfig(name, provider="openai", input_price=p, output_price=p)
              for name, p in (("small", 0.1), ("medium", 0.2), ("top", 10.0))]
    agent = CascadeAgent(models, providers=providers, start_tiers=dict.fromkeys(
        ("trivial", "simple", "moderate", "hard", "expert"), 0),
        tier_validators={"small": collect_draft, "medium": AgreementValidator(peers=("small",))})
    result = await agent.run(FEW_SHOT)
    verdict = result.steps[-1].verdict
    assert result.model_used == "medium" and verdict is not None and "(small)" in verdict.reason


async def test_disagreement_escalates_to_the_top() -> None:
    agent, _ = await _agent({"small": ["A"], "medium": ["C"], "top": ["C"]})
    result = await agent.run(FEW_SHOT)
    assert result.model_used == "top"
    assert [s.action for s in result.steps] == ["escalate", "escalate", "final"]
