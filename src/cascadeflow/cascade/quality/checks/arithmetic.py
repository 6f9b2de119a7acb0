"""Arithmetic: a worked answer to a calculation must add up. Its steps are computed again, and its final answer
must be one of the results it computed, a whole number when the question counts things, and built from the
question's own quantities.

Label-free and cheap (a regex pass and a tiny arithmetic evaluator; no model call). Applicable to questions that
quote at least two numbers and answers that state a number; everything else is left to the other checks.
On GSM8K, Mixtral's drafts with a wrong step were right 11% of the time (the rest: 71%).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from cascadeflow.cascade.quality.agreement import detect_kind
from cascadeflow.cascade.quality.arithmetic import Step, close, final_answer, worked_steps
from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.cascade.quality.checks.registry import CheckSpec
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_int, check_number

NAME: Final = "arithmetic"
_NOT_MATH: Final = CheckResult(NAME, 1.0, "not a calculation", applicable=False)
_NO_NUMBER: Final = CheckResult(NAME, 1.0, "the answer states no number", applicable=False)
_COUNT_RE: Final = re.compile(r"(?i:\bhow many\b|\bnumber of\b)")
_QUANTITY_RE: Final = re.compile(r"\d[\d,]*(?:\.\d+)?")
_HEDGE_RE: Final = re.compile(
    r"(?i:\b(?:assum(?:e|ing)|approximately|not possible|cannot be|can't be|unclear|doesn't make sense"
    r"|can't have (?:a )?(?:half|part|fraction))\b)"
)
"""A worked answer that has to assume, approximate or bend the question has usually misread it. (First-person
doubt, "I'm not sure", is the refusal check's.)"""


@dataclass(frozen=True)
class ArithmeticSettings:
    """Scores of each finding (multiplied; below ``CheckSettings.veto`` rejects), each with its reason.

    Findings are *defects* (a wrong step, a final answer the work does not give, a fractional count) or
    *doubts* (each alone is weaker evidence). With the default ``doubt_score`` below the veto, one doubt is
    enough to escalate: on GSM8K, Mixtral's drafts with any of them were right 30% of the time, the rest 79%.
    """

    wrong_step_score: float = 0.0
    """A stated result that its own expression does not give ("5 * 75 + 120 = 795") is a slip that carries into
    the final answer: reject."""
    inconsistent_final_score: float = 0.2
    """The final answer is none of the results the answer computed: it was changed, guessed or copied."""
    fractional_count_score: float = 0.2
    """A count ("how many ...") answered with a fraction: a misread question or a division that should be exact."""
    doubt_score: float = 0.25
    """Each doubt: a fraction computed from whole numbers only, a worked answer that ignores some of the
    question's quantities, a step rounded to a whole number ("73 / 8 = 9": right for boxes, a slip for
    insects), hedging ("assuming", "approximately"), a long answer with no checkable step, no number at all in
    the answer to a calculation."""
    min_numbers_used: float = 0.8
    """Share of the question's numbers a worked answer is expected to use (one in five may be a distractor)."""
    min_worked_words: int = 25
    """An answer this long to a calculation is expected to show at least one checkable step."""

    def __post_init__(self) -> None:
        for name in ("wrong_step_score", "inconsistent_final_score", "fractional_count_score", "doubt_score",
                     "min_numbers_used"):
            check_number(f"ArithmeticSettings.{name}", getattr(self, name), hi=1.0)
        check_int("ArithmeticSettings.min_worked_words", self.min_worked_words, lo=1)


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip("0").rstrip(".") if "." in n else n.replace(",", "")
            for n in _QUANTITY_RE.findall(text)}


def _defects(
    query: str, steps: list[Step], final: float | None, s: ArithmeticSettings
) -> list[tuple[float, str]]:
    found: list[tuple[float, str]] = []
    wrong = [step for step in steps if not step.ok and not step.rounded]
    if wrong:
        step = wrong[0]
        said = f"{step.expression.strip()} is {step.value:g}, not {step.stated.strip()}"
        found.append((s.wrong_step_score, said))
    if final is None:
        return found
    if steps and not any(close(final, x) for step in steps for x in (step.value, step.claimed)):
        found.append((s.inconsistent_final_score, f"the final answer {final:g} is none of the results it computed"))
    if _COUNT_RE.search(query) and final != int(final):
        found.append((s.fractional_count_score, f"a count answered with the fraction {final:g}"))
    return found


def _doubts(query: str, answer: str, steps: list[Step], final: float | None, s: ArithmeticSettings) -> list[str]:
    found: list[str] = []
    if final is None:
        found.append("states no final number")
    elif final != int(final) and not _COUNT_RE.search(query) and "." not in "".join(_QUANTITY_RE.findall(query)):
        found.append(f"the fraction {final:g} from whole numbers only")
    given = _numbers(query)
    used = len(given & _numbers(answer)) / len(given) if given else 1.0
    if steps and used < s.min_numbers_used:
        found.append(f"uses {used:.0%} of the question's numbers")
    rounded = [step for step in steps if step.rounded and not close(step.value, step.claimed, step.stated)]
    if rounded:
        found.append(f"rounds {rounded[0].value:.3g} to {rounded[0].claimed:g}")
    if not steps and len(answer.split()) >= s.min_worked_words:
        found.append("a worked answer with no checkable step")
    if _HEDGE_RE.search(answer):
        found.append("hedges (assumes or approximates)")
    return found


def check_arithmetic(
    request: CompletionRequest, draft: Completion, context: ValidationContext, settings: ArithmeticSettings
) -> CheckResult:
    """Worked steps recomputed; the final answer must follow from them and fit the question."""
    answer = draft.content
    if draft.tool_calls or not answer.strip():
        return _NOT_MATH
    query = request.query
    if detect_kind(query) != "number":
        return _NOT_MATH
    steps = worked_steps(answer)
    final, _ = final_answer(answer)
    if final is None and not steps and len(answer.split()) < settings.min_worked_words:
        return _NO_NUMBER  # "Neil Armstrong" to a question that quotes two years: not a calculation
    defects, doubts = _defects(query, steps, final, settings), _doubts(query, answer, steps, final, settings)
    score = settings.doubt_score ** len(doubts)
    for value, _ in defects:
        score *= value
    findings = [text for _, text in defects] + doubts
    if not findings:
        return CheckResult(NAME, 1.0, f"arithmetic: {len(steps)} worked steps check out; the final answer follows")
    return CheckResult(NAME, score, "arithmetic: " + "; ".join(findings))


SPEC: Final = CheckSpec(
    name=NAME,
    run=check_arithmetic,
    settings=ArithmeticSettings,
    weight=2.0,  # like the other checks that find concrete defects
    order=54,
)
