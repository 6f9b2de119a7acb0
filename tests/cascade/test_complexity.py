"""The rule-based complexity detector on a table of realistic prompts, and the signals it explains itself with."""

from __future__ import annotations

import dataclasses

import pytest

from cascadeflow.cascade.complexity import ComplexityDetector, ComplexityResult, ComplexitySettings
from cascadeflow.config import COMPLEXITY_LEVELS
from cascadeflow.errors import ConfigError

DETECTOR = ComplexityDetector()

NESTED_CODE = """Refactor this code and explain its time complexity:
```python
def find_pairs(nums, target):
    out = []
    for i in range(len(nums)):
        for j in range(i + 1, len(nums)):
            if nums[i] + nums[j] == target:
                if (nums[j], nums[i]) not in out:
                    out.append((nums[i], nums[j]))
    return out
```"""

PROMPTS: dict[str, list[str]] = {
    "trivial": [
        "What color is the sky?",
        "Hi!",
        "What is the capital of France?",
        "Who wrote Hamlet?",
        "What is 2 + 2?",
        "How many legs does a spider have?",
        "Translate 'good morning' into Spanish.",
        "Thanks, that helped!",
    ],
    "simple": [
        "Give me three tips for better sleep before an important exam next week.",
        "What is the difference between a list and a tuple in Python?",
        "Summarize the plot of Romeo and Juliet in two sentences.",
        "How do I reverse a string in Python?",
        "Why is the sky blue?",
        "Write a short, friendly email to my landlord asking when the broken heater will be repaired.",
        "Explain what a REST API is.",
    ],
    "moderate": [
        "Explain how photosynthesis works and why it matters for the carbon cycle.",
        "Write a Python function that checks whether a string is a palindrome, ignoring punctuation and case.",
        "Compare REST and GraphQL for a mobile app backend, with pros and cons.",
        "Solve for x: 3x + 7 = 22, and show your steps.",
        "What causes inflation? How do central banks respond to it?",
        "Explain the time complexity of quicksort and when it degrades.",
    ],
    "hard": [
        "Design a rate limiter for a distributed API gateway that handles 100k requests per second across "
        "multiple regions. Discuss trade-offs between token bucket and sliding window, consistency, and failure "
        "modes.",
        NESTED_CODE,
        "A 67-year-old patient on warfarin presents with atrial fibrillation and acute kidney injury. Discuss "
        "anticoagulation options, pharmacokinetics, dosage adjustments and contraindications.",
        "Analyze the economic implications of a universal basic income for a mid-sized country:\n"
        "1. effects on labour supply\n2. inflation risk\n3. funding options\n4. political feasibility",
    ],
    "expert": [
        "Prove that there are infinitely many primes of the form 4k+3.",
        "Derive the Black-Scholes partial differential equation from first principles using Itô's lemma, and "
        "discuss the assumptions.",
        "Design a lock-free concurrent hash map in C++ with linearizable operations; prove linearizability and "
        "analyze ABA hazards and memory reclamation (hazard pointers vs epoch-based).",
        "Give a rigorous proof that every compact subset of a Hausdorff topological space is closed, and explain "
        "where the Hausdorff condition is needed.",
    ],
}


@pytest.mark.parametrize(
    ("level", "prompt"),
    [(level, prompt) for level, prompts in PROMPTS.items() for prompt in prompts],
    ids=[f"{level}-{i}" for level, prompts in PROMPTS.items() for i in range(len(prompts))],
)
def test_realistic_prompts_get_their_level(level: str, prompt: str) -> None:
    result = DETECTOR.detect(prompt)
    assert result.level == level, result.signals


def test_the_sky_question_is_trivial_or_simple() -> None:
    assert DETECTOR.detect("What color is the sky?").level in ("trivial", "simple")


def test_scores_rise_with_the_level() -> None:
    mean = {
        level: sum(DETECTOR.detect(p).score for p in prompts) / len(prompts) for level, prompts in PROMPTS.items()
    }
    assert [mean[level] for level in COMPLEXITY_LEVELS] == sorted(mean[level] for level in COMPLEXITY_LEVELS)
    assert all(0.0 <= DETECTOR.detect(p).score <= 1.0 for prompts in PROMPTS.values() for p in prompts)


def test_fenced_python_is_analysed_with_ast() -> None:
    signals = DETECTOR.detect(NESTED_CODE).signals
    assert "code:ast branches=2 loops=2 depth=4" in signals
    assert "code:refactor,time complexity" in signals


def test_unfenced_python_is_found_and_elif_chains_do_not_count_as_nesting() -> None:
    prompt = (
        "What does this print?\n"
        "def grade(score):\n"
        "    if score > 90:\n"
        "        return 'A'\n"
        "    elif score > 80:\n"
        "        return 'B'\n"
        "    elif score > 70:\n"
        "        return 'C'\n"
        "    return 'F'\n"
        "print(grade(85))"
    )
    assert "code:ast branches=3 loops=0 depth=1" in DETECTOR.detect(prompt).signals


def test_unfenced_code_followed_by_prose_is_trimmed_before_parsing() -> None:
    prompt = "Fix the bug:\nfor i in range(3):\n    while i:\n        i -= 1\nwhy does it hang?"
    assert "code:ast branches=0 loops=2 depth=2" in DETECTOR.detect(prompt).signals


def test_code_that_does_not_parse_is_scored_by_size() -> None:
    prompt = "Why does this not compile?\n```java\nclass A {\n  void f() { int x = 1 }\n}\n```"
    result = DETECTOR.detect(prompt)
    assert "code:unparsed 3 lines" in result.signals


def test_signals_name_markers_length_and_parts() -> None:
    assert "marker:prove" in DETECTOR.detect("Prove that the square root of 2 is irrational.").signals
    long_prompt = "Please read the following notes carefully. " + "The meeting covered budgets and plans. " * 30
    long_result = DETECTOR.detect(long_prompt)
    assert any(s.startswith("long:") and s.endswith(" words") for s in long_result.signals)
    assert long_result.level != "trivial"
    multi = DETECTOR.detect("What is DNS? What is TCP? What is HTTP? What is TLS? What is a CDN?")
    assert "multi:5 parts" in multi.signals
    assert "short:5 words" in DETECTOR.detect("What color is the sky?").signals


def test_latex_counts_as_maths() -> None:
    result = DETECTOR.detect(r"Evaluate $$\int_0^1 x^2 \, dx$$ and \frac{1}{2}.")
    assert "math:latex" in result.signals
    assert result.level != "trivial"


def test_settings_move_the_cut_offs() -> None:
    strict = ComplexityDetector(ComplexitySettings(expert_points=1.0, hard_points=0.9, moderate_points=0.8))
    assert strict.detect("Why is the sky blue?").level == "simple"
    assert strict.detect("Summarize the plot of Hamlet and explain why Ophelia dies.").level == "expert"


def test_result_is_an_immutable_value() -> None:
    result = DETECTOR.detect("Hi!")
    assert isinstance(result, ComplexityResult) and result == ComplexityResult("trivial", ("short:1 words",), 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.level = "expert"  # type: ignore[misc]
    assert not hasattr(result, "__dict__")


def test_empty_and_whitespace_prompts_are_trivial() -> None:
    assert DETECTOR.detect("").level == "trivial"
    assert DETECTOR.detect("   \n  ").level == "trivial"


@pytest.mark.parametrize(
    "kwargs",
    [{"hard_points": 9.0}, {"moderate_points": -1.0}, {"saturation_points": 0.0}, {"long_words": 500}],
)
def test_settings_reject_inconsistent_cut_offs(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        ComplexitySettings(**kwargs)  # type: ignore[arg-type]
