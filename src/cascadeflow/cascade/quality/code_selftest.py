"""Code self-test (opt-in, sandboxed): run the answer's own worked examples and check they print what it claims.

Models that write a function usually show it working — ``print(f(3))  # Output: 9``, ``assert f(3) == 9`` — and a
wrong function often fails its own example. The answer's Python (its code blocks, in order) runs in the bubblewrap
sandbox (:mod:`~cascadeflow.cascade.quality.sandbox`; nothing runs without it); for each claimed line the child
reports what it printed (:mod:`~cascadeflow.cascade.quality.code_selftest_child`), and the comparison with the
claim happens here, outside the sandbox: the printed text equals the claimed one (as Python literals when both
read as one, else as text with spacing collapsed), and an ``assert`` must not fail. An answer that claims
nothing is left to the other checks. It runs model-written code, so it is never on by default:
``tier_validators={"drafter": SelfTestValidator(build_validator(quality))}``.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext, Validator, Verdict
from cascadeflow.cascade.quality.sandbox import Sandbox, SandboxLimits
from cascadeflow.cascade.quality.text import fenced_blocks, python_syntax_error
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_int, check_number

NAME: Final = "code_selftest"
CHILD: Final = Path(__file__).with_name("code_selftest_child.py")
_PRINT_CLAIM_RE: Final = re.compile(
    r"^print\(.*\)\s*#\s*(?:(?:output|returns?|result|prints?|expected(?: output)?|should (?:return|print))\s*"
    r"(?:is\s*)?:?\s*|->\s*|=>\s*)?(.+?)\s*$", re.I)
_ASSERT_RE: Final = re.compile(r"^assert\b")
_PYTHON_TAGS: Final = frozenset({"", "python", "py", "python3", "py3"})
_NOTE_RE: Final = re.compile(r"\s*\(.*\)\s*$")
"""A trailing remark on the claim ("[1, 2] (the original list was modified)") is not part of the output."""


@dataclass(frozen=True)
class SelfTestSettings:
    """How many claims to check, how many must hold, and how long they may run; each with its reason."""

    max_claims: int = 6
    """Claimed lines checked per answer (its first ones): a few already catch a wrong function."""
    min_passing: float = 1.0
    """Share of the claims that must hold: an answer whose own example fails is wrong about itself."""
    call_timeout_s: float = 1.0
    """One top-level statement of the answer; longer is a failure of that statement."""
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    """Bounds on the whole sandboxed run (wall time, CPU, memory, processes, output)."""
    rule_gate_threshold: float = 0.5
    """The rule checks gate obvious defects first (a broken draft is not worth running)."""

    def __post_init__(self) -> None:
        check_int("SelfTestSettings.max_claims", self.max_claims, lo=1, hi=32)
        check_number("SelfTestSettings.min_passing", self.min_passing, hi=1.0)
        check_number("SelfTestSettings.call_timeout_s", self.call_timeout_s, lo=0.01, hi=60.0)
        check_number("SelfTestSettings.rule_gate_threshold", self.rule_gate_threshold, hi=1.0)


@dataclass(frozen=True, slots=True)
class Claim:
    line: int
    """Line of the claimed statement in :func:`program`'s source."""
    expected: str | None
    """What it should print; None for an ``assert`` (it must simply not fail)."""


def program(answer: str) -> str | None:
    """The answer's Python: its code blocks that parse, in order, joined (when the joint parses)."""
    blocks = [code for tag, code in fenced_blocks(answer) if tag in _PYTHON_TAGS and python_syntax_error(code) is None]
    if not blocks:
        return answer if python_syntax_error(answer) is None and "def " in answer else None
    joined = "\n".join(blocks)
    return joined if python_syntax_error(joined) is None else max(blocks, key=len)


def claims(source: str, most: int) -> list[Claim]:
    """Top-level statements that claim an outcome: ``print(...)  # Output: X`` and ``assert ...``."""
    found: list[Claim] = []
    lines = source.splitlines()
    for statement in ast.parse(source).body:
        if statement.lineno != getattr(statement, "end_lineno", statement.lineno):
            continue  # a claim is one line
        text = lines[statement.lineno - 1].strip()
        match = _PRINT_CLAIM_RE.match(text)
        if match and isinstance(statement, ast.Expr):
            found.append(Claim(statement.lineno, _NOTE_RE.sub("", match.group(1)) or match.group(1)))
        elif _ASSERT_RE.match(text) and isinstance(statement, ast.Assert):
            found.append(Claim(statement.lineno, None))
    return found[:most]


def _literal(text: str) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, RecursionError, MemoryError):
        return False, None


def holds(claim: Claim, printed: str | None) -> bool:
    """Whether what the line printed (None: it raised) matches the claim."""
    if printed is None:
        return False
    if claim.expected is None:
        return True
    said, wanted = printed.strip(), claim.expected.strip().strip("`")
    ok_said, value_said = _literal(said)
    ok_wanted, value_wanted = _literal(wanted)
    if ok_said and ok_wanted:
        return bool(value_said == value_wanted)
    return " ".join(said.split()) == " ".join(wanted.strip("'\"").split())


class SelfTestValidator:
    """Rules first; then the answer's own claimed examples must hold when run in the sandbox."""

    __slots__ = ("_program", "rules", "sandbox", "settings")

    def __init__(self, rules: Validator, settings: SelfTestSettings | None = None, *,
                 sandbox: Sandbox | None = None) -> None:
        self.rules = rules
        self.settings = settings or SelfTestSettings()
        self.sandbox = sandbox or Sandbox.detect("code_selftest")  # ConfigError here when there is no sandbox
        self._program = CHILD.read_text(encoding="utf-8")

    async def __call__(self, request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        gate_context = replace(context, threshold=min(context.threshold, self.settings.rule_gate_threshold))
        outcome = self.rules(request, draft, gate_context)
        gate = outcome if isinstance(outcome, Verdict) else await outcome
        source = program(draft.content) if gate.passed else None
        found = claims(source, self.settings.max_claims) if source else []
        if source is None or not found:
            outcome = self.rules(request, draft, context)
            return outcome if isinstance(outcome, Verdict) else await outcome
        printed = await self._run(source, found)
        return self._verdict(found, printed, gate)

    async def _run(self, source: str, found: Sequence[Claim]) -> dict[str, str | None] | None:
        data = json.dumps({"code": source, "lines": [c.line for c in found],
                           "timeout_s": self.settings.call_timeout_s}).encode()
        result = await self.sandbox.run(self._program, data, self.settings.limits)
        if result.failure:
            return None
        lines = [line for line in result.stdout.decode(errors="replace").splitlines() if line.strip()]
        try:
            report = json.loads(lines[-1]) if lines else None
        except (ValueError, RecursionError):
            return None
        printed = report.get("printed") if isinstance(report, dict) else None
        if not isinstance(printed, dict):
            return None
        return {str(k): v if isinstance(v, str) else None for k, v in printed.items()}

    def _verdict(self, found: Sequence[Claim], printed: dict[str, str | None] | None, gate: Verdict) -> Verdict:
        floor = self.settings.min_passing
        if printed is None:
            reason = "code_selftest: the answer's examples could not be run"
            return Verdict(0.0, False, (reason,), (CheckResult(NAME, 0.0, reason), *gate.checks), NAME, floor)
        held = sum(holds(c, printed.get(str(c.line))) for c in found)
        score = held / len(found)
        passed = score >= floor
        reason = f"code_selftest: {held} of {len(found)} of its own claimed examples hold"
        return Verdict(score, passed, (reason,), (CheckResult(NAME, score, reason), *gate.checks), NAME, floor)
