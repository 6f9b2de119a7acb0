"""Re-checking the arithmetic a worked answer shows: every ``a op b = c`` it writes is computed again.

A small model that reasons in writing leaves its arithmetic in the text ("16 - 3 = 13", "$<<9*2=18>>18", chains
such as "500 - (100 + 150) = 500 - 250 = 250"). A step whose stated result is not what the expression gives is
hard evidence of a wrong answer, and the final answer should be one of the results the answer computed. Only
plain arithmetic is evaluated (numbers, + - * / // % **, parentheses; a tiny AST walker, never ``eval``), and
only where the expression is certainly complete: a chain that starts after an operator word ("half of 10 + 2
= 7") or inside algebra ("3x + 8 = 38") is skipped rather than judged.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

_MAX_EXPONENT: Final = 64
"""Worked answers never need a bigger power; a larger one is refused rather than computed (no DoS)."""
REL_TOLERANCE: Final = 1e-4
"""Worked answers round intermediate results; a relative error below this counts as correct arithmetic."""
_MAX_SAME_UNIT_TERMS: Final = 8  # "1 kg + 2 kg + 3 kg ...": one pair per pass, a few passes
_MAX_EXPRESSION_CHARS: Final = 200  # longer "expressions" are prose run together, not a step
_OPERATORS: Final[Mapping[type, Callable[[Any, Any], Any]]] = MappingProxyType({
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
})
_ANNOTATION_RE: Final = re.compile(r"<<([^<>]*=[^<>]*)>>")
_THOUSANDS_RE: Final = re.compile(r"(?<=\d),(?=\d{3}\b)")
_TIMES_RE: Final = re.compile(r"(?<=[\d)])\s*[x×·]\s*(?=[\d(])")
_PERCENT_RE: Final = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_CURRENCY_RE: Final = re.compile(r"[$€£]")
_WORD_OPERATORS: Final = (
    (re.compile(r"(?<=\d)\s+(?:multiplied by|times)\s+(?=[\d$(])"), " * "),
    (re.compile(r"(?<=\d)\s+divided by\s+(?=[\d$(])"), " / "),
    (re.compile(r"(?<=\d)\s+plus\s+(?=[\d$(])"), " + "),
    (re.compile(r"(?<=\d)\s+minus\s+(?=[\d$(])"), " - "),
)
_UNIT_RE: Final = re.compile(r"(?<=\d)\s+[A-Za-z]{2,}(?:/[A-Za-z]+)?(?=\s*[*=])")
"""A unit word after a number and before ``*`` or ``=`` ("180 meters/session * 3 sessions = 540 meters") is
dropped, so prose-style steps are checked like bare ones. Not before ``/``, ``+`` or ``-``, where units often
convert ("1 year / 3 months", "1 hour + 30 minutes"), and never a single letter (a variable: "9A - 21")."""
_ARITH_CHARS: Final = frozenset("0123456789.+-*/()% ^\t")
_OPERATOR_RE: Final = re.compile(r"\d\s*(?:\*\*|[-+*/^])\s*[\d(]|\)\s*[-+*/^]")
_NUMBER_RE: Final = re.compile(r"-?\d+(?:\.\d+)?")
_OPERATOR_WORDS: Final = frozenset({
    "than", "times", "half", "twice", "thrice", "double", "triple", "quarter", "third", "per",
    "percent", "from", "minus", "plus", "over", "into", "divided", "multiplied", "less", "more", "sqrt", "root",
    "x", "y", "n", "log", "sin", "cos",
    "step", "day", "week", "month", "year", "part", "case", "option", "line", "question", "problem", "example",
})  # fmt: skip
"""A word right before an expression that makes it part of a larger one ("half of 10 + 2"), or a label whose
number is not an operand ("Step 1 - 16 - 3 = 13"): such chains are not checked."""
_FINAL_MARKER_RES: Final = (
    re.compile(r"####\s*\$?\s*(-?[\d,]*\.?\d+)"),
    re.compile(r"\\boxed\{\s*\$?\s*(-?[\d,]*\.?\d+)"),
    re.compile(r"(?i:(?:final )?answer(?: is)?\s*[:=]?\s*\**\s*\$?\s*)(-?[\d,]*\.?\d+)"),
)


def safe_eval(expression: str) -> float | None:
    """Value of a plain arithmetic expression (numbers, + - * / // % **, parentheses), else None."""
    text = _CURRENCY_RE.sub("", expression.replace("×", "*").replace("÷", "/").replace("^", "**")).strip()
    text = _THOUSANDS_RE.sub("", text.replace("−", "-"))
    text = re.sub(r"(?<=\d)\s*x\s*(?=[\d(])", "*", text).replace(",", "")
    try:
        node = ast.parse(text, mode="eval").body
        return float(_eval_node(node))
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError, RecursionError, MemoryError):
        return None


def _eval_node(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _eval_node(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _eval_node(node.left), _eval_node(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise ValueError("exponent too large")
        return float(_OPERATORS[type(node.op)](left, right))
    raise ValueError(f"not plain arithmetic: {type(node).__name__}")


@dataclass(frozen=True, slots=True)
class Step:
    """One checked equality of a worked answer: ``expression`` was said to equal ``stated``."""

    expression: str
    stated: str
    value: float
    claimed: float

    @property
    def ok(self) -> bool:
        if close(self.value, self.claimed, self.stated):
            return True
        if "/100)" in self.expression + self.stated and (
            close(self.value, 100 * self.claimed) or close(100 * self.value, self.claimed)
        ):
            return True  # "(4 / 20) * 100 = 20%": a percentage written as its number
        return self.rounded

    @property
    def rounded(self) -> bool:
        """"73 / 8 = 9 boxes": a fraction rounded to a whole number of things; right when things come whole,
        a slip otherwise (the caller decides how much to trust it)."""
        whole = self.claimed == int(self.claimed) and self.value != int(self.value)
        return whole and abs(self.value - self.claimed) < 1


def close(value: float, claimed: float, stated: str = "") -> bool:
    """Whether ``claimed`` (as written: ``stated``) is ``value`` up to the rounding its written digits allow."""
    decimals = len(stated.rsplit(".", 1)[1]) if "." in stated else 0
    rounding = 0.5 * 10.0**-decimals if decimals else 0.0
    return abs(value - claimed) <= max(REL_TOLERANCE * max(1.0, abs(claimed)), rounding + 1e-9)


_NOTE_RE: Final = re.compile(r"\(\s*[A-Za-z][^()\d]*\)")
"""A parenthetical note without digits ("14 (Monday) + 12 (Tuesday)") names an operand; it is dropped."""
_SAME_UNIT_RE: Final = re.compile(r"(?<=\d)\s+([A-Za-z]{2,})\s*([-+])\s*(\d+(?:\.\d+)?)\s+\1\b")
"""The same unit on both operands of + or - ("720 kg - 700 kg"): no conversion, so the unit is dropped."""


def _normalise(text: str) -> str:
    text = _CURRENCY_RE.sub("", _THOUSANDS_RE.sub("", text)).replace("−", "-").replace("÷", "/")
    for regex, symbol in _WORD_OPERATORS:
        text = regex.sub(symbol, text)
    text = _NOTE_RE.sub("", text)
    for _ in range(_MAX_SAME_UNIT_TERMS):
        text, count = _SAME_UNIT_RE.subn(r" \2 \3 \1", text)
        if not count:
            break
    text = _UNIT_RE.sub("", _TIMES_RE.sub(" * ", text))
    return _PERCENT_RE.sub(r"(\1/100)", text)


def _arith_suffix(segment: str) -> str | None:
    """The arithmetic expression ending ``segment`` (left of an ``=``), or None when it may be only the tail of
    a larger one (it follows an operator word such as "half of", or a variable as in "3x + 8")."""
    i = len(segment)
    while i > 0 and segment[i - 1] in _ARITH_CHARS:
        i -= 1
    expression = segment[i:].strip()
    if not expression or expression[0] in "+*/^)":
        return None
    before = segment[:i].rstrip()
    words = re.findall(r"[A-Za-z]+|[^\sA-Za-z]", before[-40:].lower())
    if before[-1:].isalpha() and words:
        if words[-1] in _OPERATOR_WORDS:
            return None
        # "a total of 14 + 12" is a sum; "half of 10 + 2", "20% of 5 + 3" are not (only) one.
        if words[-1] == "of" and (len(words) < 2 or not words[-2].isalpha() or words[-2] in _OPERATOR_WORDS):
            return None
    return expression


def _arith_prefix(segment: str) -> str | None:
    """The arithmetic expression starting ``segment`` (right of an ``=``)."""
    i = 0
    while i < len(segment) and segment[i] in _ARITH_CHARS:
        i += 1
    expression = segment[:i].strip().rstrip(".")
    rest = segment[i:].lstrip()
    if not expression or (rest and (rest[0].isdigit() or rest[0] in "=")):
        return None
    return expression


def _chain_members(line: str) -> list[str]:
    """The expressions of one ``a = b = c`` chain in a line (several chains per line are returned flat, each
    followed by an empty separator)."""
    parts = line.split("=")
    members: list[str] = []
    for index, part in enumerate(parts):
        if index == 0:
            found = _arith_suffix(part)
        elif index == len(parts) - 1:
            found = _arith_prefix(part)
        else:
            whole = part.strip()
            found = whole if whole and set(whole) <= _ARITH_CHARS else None
            if found is None:  # prose between two "=": this chain ends here and a new one may start
                prefix, suffix = _arith_prefix(part), _arith_suffix(part)
                members.extend([prefix or "", ""])
                found = suffix
        members.append(found or "")
    return members


def _steps_of(members: list[str]) -> list[Step]:
    steps: list[Step] = []
    previous: tuple[str, float] | None = None
    if members and not _OPERATOR_RE.search(members[0]):
        members = ["", *members[1:]]  # "14 slices = 10 + 7 + 14": a quantity named before its sum, not a step
    for member in members:
        value = safe_eval(member) if member and len(member) <= _MAX_EXPRESSION_CHARS else None
        if value is None:
            previous = None
            continue
        if previous is not None and (_OPERATOR_RE.search(previous[0]) or _OPERATOR_RE.search(member)):
            expression, computed = previous
            # The side with an operator is the computation; the other is what it was said to equal.
            if _OPERATOR_RE.search(expression):
                steps.append(Step(expression, member, computed, value))
            else:
                steps.append(Step(member, expression, value, computed))
        previous = (member, value)
    return steps


def worked_steps(answer: str) -> list[Step]:
    """Every checkable equality of an answer, once each: GSM8K-style ``<<expr=value>>`` annotations and inline
    chains (the text around an annotation usually repeats its step)."""
    found: list[Step] = []
    for note in _ANNOTATION_RE.findall(answer):
        found.extend(_steps_of([m.strip() for m in _normalise(note).split("=")]))
    text = _ANNOTATION_RE.sub(" ", answer)
    for line in _normalise(text).splitlines():
        if "=" in line and "==" not in line and "=>" not in line:
            found.extend(_steps_of(_chain_members(line.replace("≈", "=~"))))
    unique: dict[tuple[str, str], Step] = {}
    for step in found:
        unique.setdefault((step.expression.replace(" ", ""), step.stated.replace(" ", "")), step)
    return list(unique.values())


def final_answer(answer: str) -> tuple[float | None, bool]:
    """The answer's final number and whether it was marked as final ("#### 18", "the answer is 18", boxed)."""
    text = _CURRENCY_RE.sub("", _THOUSANDS_RE.sub("", answer))
    for regex in _FINAL_MARKER_RES:
        found = regex.findall(text)
        if found:
            try:
                return float(found[-1].replace(",", "")), True
            except ValueError:
                continue
    numbers = _NUMBER_RE.findall(text)
    return (float(numbers[-1]), False) if numbers else (None, False)
