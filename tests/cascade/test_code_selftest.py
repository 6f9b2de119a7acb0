"""Code self-test: an answer's own claimed examples, run in the sandbox, must print what it says."""

from __future__ import annotations

import pytest

from cascadeflow.cascade.quality.base import ValidationContext
from cascadeflow.cascade.quality.code_selftest import Claim, SelfTestSettings, SelfTestValidator, claims, holds, program
from cascadeflow.cascade.quality.composite import build_validator
from cascadeflow.config import QualityConfig
from cascadeflow.errors import ConfigError
from cascadeflow.types import Completion, CompletionRequest, Message

TASK = CompletionRequest(messages=(Message(role="user", content="Write a function to cube every number of a list."),))
DEFINITION = "```python\ndef cubes(xs):\n    return [x ** 3 for x in xs]\n```\n"


def answer(example: str) -> str:
    return DEFINITION + "Usage:\n```python\n" + example + "\n```\n"


def test_claims_are_read_from_commented_prints_and_asserts() -> None:
    source = program(answer("nums = [1, 2]\nprint(cubes(nums))  # Output: [1, 8]\nassert cubes([2]) == [8]\n"
                            "print(cubes([3]))\n"))
    assert source is not None and "def cubes" in source
    found = claims(source, 6)
    assert [c.expected for c in found] == ["[1, 8]", None]  # the uncommented print claims nothing
    assert holds(Claim(1, "[1, 8] (note: cubed)"), "[1, 8]\n") is False  # the note is cut by claims(), not here
    assert holds(Claim(1, "hexxo world"), "hexxo world\n") and holds(Claim(1, "True"), "True\n")
    assert not holds(Claim(1, "6"), None) and holds(Claim(1, None), "")
    with pytest.raises(ConfigError, match="max_claims"):
        SelfTestSettings(max_claims=0)


@pytest.mark.parametrize(("example", "passes"), [
    ("print(cubes([1, 2]))  # Output: [1, 8]", True),
    ("print(cubes([1, 2]))  # Output: [1, 4]", False),
    ("assert cubes([2]) == [6]", False),
    ("xs = [3]\nprint(cubes(xs))  # -> [27]  (three cubed)", True),
])
async def test_the_answers_own_examples_decide(example: str, passes: bool) -> None:
    validator = SelfTestValidator(build_validator(QualityConfig.for_cascade()))
    verdict = await validator(TASK, Completion(answer(example), "small"), ValidationContext(threshold=0.7))
    assert verdict.passed is passes and verdict.decided_by == "code_selftest"


async def test_an_answer_that_claims_nothing_is_left_to_the_rules() -> None:
    validator = SelfTestValidator(build_validator(QualityConfig.for_cascade()))
    verdict = await validator(TASK, Completion(DEFINITION, "small"), ValidationContext(threshold=0.7))
    assert verdict.passed and verdict.decided_by != "code_selftest"
