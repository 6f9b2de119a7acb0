"""Agreement: accept a draft when it says the same thing as earlier tiers' drafts of the same request.

Two cheap models that independently reach the same answer are right far more often than either alone, so
"ask a second cheap model and compare" is often worth more than any check of one draft. Answers are compared
after normalising them for the kind of question:

* ``choice`` — multiple choice: "B", "B)", "(B) house", "Answer: B", "option 2" or the option's own text all
  become the option's position (letter and number labels both work, e.g. winogrande's option 1/2);
* ``number`` — the final number ("#### 18", "the answer is $18.00", "\\boxed{18}", else the last number);
* ``code`` — the Python AST with docstrings, examples and identifier names normalised away. To compare code
  by *behaviour* instead (run both on the example inputs either supplies), use
  :class:`~cascadeflow.cascade.quality.code_behaviour.BehaviourAgreementValidator`: it runs model-written
  code, so it is opt-in;
* ``text`` — lower-cased words without punctuation.

``kind="auto"`` picks the kind from the question. The engine passes earlier drafts in
``ValidationContext.previous`` (with their tier names in ``previous_models``); ``peers`` restricts the
comparison to drafts of the named tiers.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext, Validator, Verdict, previous_drafts
from cascadeflow.cascade.quality.text import fenced_blocks
from cascadeflow.cascade.strategies import FixedStrategy
from cascadeflow.errors import ConfigError
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_int

if TYPE_CHECKING:
    from cascadeflow.cascade.plan_config import TierPlan
    from cascadeflow.cascade.strategies import StrategyContext

AnswerKind: TypeAlias = Literal["auto", "choice", "number", "code", "text"]
ANSWER_KINDS: Final[tuple[str, ...]] = ("auto", "choice", "number", "code", "text")
NAME: Final = "agreement"

_OPTION_LINE_RE: Final = re.compile(r"^[ \t]*\(?([A-H]|[1-9])[).:][ \t]+(\S[^\n]*)$", re.M)
_BARE_LABEL_RE: Final = re.compile(r"^\(?([A-H]|[1-9])\)?[.:)]?$")
_LEADING_LABEL_RE: Final = re.compile(r"^\(?([A-H])(?:[).:]|\s*$|\s+[-–]\s)")
_STATED_LABEL_RE: Final = re.compile(
    r"(?i:\b(?:answer|option|choice)\b)\s*(?:(?i:is)\s*)?:?\s*\(?([A-H]|[1-9])\b(?![.,]\d)"
)
_MIN_OPTION_PREFIX: Final = 3
"""A truncated answer ("Rober" for "Robert") names an option when at least this many characters match."""

_FINAL_NUMBER_RES: Final = (
    re.compile(r"####\s*\$?\s*(-?[\d,]*\.?\d+)"),
    re.compile(r"\\boxed\{\s*\$?(-?[\d,]*\.?\d+)"),
    re.compile(r"(?i:answer is)\s*:?\s*\$?\s*(-?[\d,]*\.?\d+)"),
)
_NUMBER_RE: Final = re.compile(r"-?\d[\d,]*\.?\d*|-?\.\d+")
_CODE_ASK_RE: Final = re.compile(
    r"(?i:\b(?:write|implement|create|define)\b[^.?!\n]{0,60}?\b(?:function|class|method|program|script)s?\b)"
)
_MIN_NUMBERS_FOR_MATH: Final = 2
"""A question quoting at least two numbers (and no options or code) is treated as a calculation."""
_PY_BLOCK_RE: Final = re.compile(r"\[PYTHON\](.*?)(?:\[/PYTHON\]|\Z)", re.S)
_PYTHON_FENCE_TAGS: Final = frozenset({"", "python", "py", "python3", "py3"})
_WORD_RE: Final = re.compile(r"[a-z0-9]+")


# ------------------------------------------------------------------------------------------ options
def parse_options(query: str) -> tuple[tuple[str, str], ...]:
    """The ``(label, text)`` options of the *last* multiple-choice block in the question (few-shot prompts
    repeat earlier questions first); empty when there is no block of two or more consecutive labels."""
    runs: list[list[tuple[str, str]]] = []
    for match in _OPTION_LINE_RE.finditer(query):
        label, text = match.group(1), match.group(2).strip()
        if label in ("A", "1"):
            runs.append([(label, text)])
        elif runs and _next_label(runs[-1][-1][0]) == label:
            runs[-1].append((label, text))
    complete = [run for run in runs if len(run) >= 2]
    return tuple(complete[-1]) if complete else ()


def _next_label(label: str) -> str:
    return chr(ord(label) + 1)


def _position(label: str, options: tuple[tuple[str, str], ...]) -> int | None:
    for i, (own, _) in enumerate(options):
        if own == label:
            return i
    if not options:
        return ord(label) - ord("A") if label.isalpha() else int(label) - 1
    numeric = options[0][0].isdigit()
    if label.isdigit() and not numeric:
        index = int(label) - 1  # "option 2" for lettered options
    elif label.isalpha() and numeric:
        index = ord(label) - ord("A")
    else:
        return None
    return index if 0 <= index < len(options) else None


def _words(text: str) -> str:
    return " ".join(_WORD_RE.findall(text.lower()))


def normalize_choice(answer: str, query: str) -> str | None:
    """The chosen option's position as text ("0" for the first option), or None when no option is named."""
    options = parse_options(query)
    text = answer.strip()
    for regex in (_BARE_LABEL_RE, _LEADING_LABEL_RE, _STATED_LABEL_RE):
        match = regex.match(text) if regex is not _STATED_LABEL_RE else regex.search(text)
        if match:
            index = _position(match.group(1), options)
            if index is not None:
                return str(index)
    said = _words(text)
    if len(said) < _MIN_OPTION_PREFIX:
        return None
    hits = [i for i, (_, option) in enumerate(options) if _words(option).startswith(said) or said == _words(option)]
    return str(hits[0]) if len(hits) == 1 else None


# ------------------------------------------------------------------------------------------ numbers
def final_number(answer: str) -> str | None:
    """The answer's final number, canonical ("18.00" → "18", "1,000" → "1000"), or None."""
    for regex in _FINAL_NUMBER_RES:
        found = regex.findall(answer)
        if found:
            return _canonical_number(found[-1])
    numbers = _NUMBER_RE.findall(answer)
    return _canonical_number(numbers[-1]) if numbers else None


def _canonical_number(raw: str) -> str | None:
    try:
        value = Decimal(raw.replace(",", "").rstrip("."))
    except InvalidOperation:
        return None
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


# ------------------------------------------------------------------------------------------ code
def extract_python(answer: str) -> str | None:
    """The answer's Python code (longest fenced or ``[PYTHON]`` block, else the whole text) if it parses."""
    blocks = [code for lang, code in fenced_blocks(answer) if lang in _PYTHON_FENCE_TAGS]
    blocks += _PY_BLOCK_RE.findall(answer)
    candidates = [*sorted(blocks, key=len, reverse=True), answer]
    for code in candidates:
        try:
            ast.parse(code)
        except (SyntaxError, ValueError, RecursionError):
            continue
        return code
    return None


def normalize_code(answer: str) -> str | None:
    """A canonical dump of the answer's Python definitions: two answers that differ only in names,
    docstrings, comments, formatting or example calls normalise to the same text."""
    code = extract_python(answer)
    if code is None:
        return None
    tree = ast.parse(code)
    kept = [node for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)]
    body = kept or tree.body
    if not body:
        return None
    module = ast.Module(body=[_strip_docstrings(node) for node in body], type_ignores=[])
    return ast.dump(_Renamer().visit(module), annotate_fields=False, include_attributes=False)


def _strip_docstrings(node: ast.stmt) -> ast.stmt:
    for inner in ast.walk(node):
        body = getattr(inner, "body", None)
        if isinstance(body, list) and len(body) > 1 and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                del body[0]
    return node


_BUILTIN_NAMES: Final = frozenset(dir(builtins))


class _Renamer(ast.NodeTransformer):
    """Renames user-chosen identifiers to v0, v1, ... in order of first appearance (builtins stay)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _rename(self, name: str) -> str:
        if name in _BUILTIN_NAMES:
            return name
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self._rename(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self._rename(node.arg)
        node.annotation = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.name = self._rename(node.name)
        node.returns = None
        self.generic_visit(node)
        return node

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AsyncFunctionDef:
        node.name = self._rename(node.name)
        node.returns = None
        self.generic_visit(node)
        return node


# ------------------------------------------------------------------------------------------ dispatch
def detect_kind(query: str) -> str:
    """The kind of answer a question asks for: choice, code, number or text."""
    if parse_options(query):
        return "choice"
    if "```" in query or _CODE_ASK_RE.search(query):
        return "code"
    if len(_NUMBER_RE.findall(query)) >= _MIN_NUMBERS_FOR_MATH:
        return "number"
    return "text"


def normalize_answer(answer: str, query: str, kind: str = "auto") -> str | None:
    """The comparable core of ``answer`` to ``query`` (None when none can be read), prefixed by its kind so
    answers of different kinds never compare equal."""
    resolved = detect_kind(query) if kind == "auto" else kind
    if resolved == "choice":
        core = normalize_choice(answer, query)
    elif resolved == "number":
        core = final_number(answer)
    elif resolved == "code":
        core = normalize_code(answer)
    else:
        core = _words(answer) or None
    return None if core is None else f"{resolved}:{core}"


def from_peer(tier: str, peers: Sequence[str]) -> bool:
    """Whether a draft of tier ``tier`` counts (every draft does when ``peers`` is empty). Tier names are the
    configured ones (``ValidationContext.previous_models``), so the match is exact: "gpt-4o" is not a peer
    of "gpt-4o-mini"."""
    return not peers or tier in peers


# ------------------------------------------------------------------------------------------ validators
class AgreementValidator:
    """Accept when at least ``min_agree`` earlier drafts give the same normalised answer and the agreeing
    fraction (the score) reaches the tier's threshold. No earlier draft means nothing to agree with: reject."""

    __slots__ = ("kind", "min_agree", "peers")

    def __init__(self, *, kind: str = "auto", min_agree: int = 1, peers: Sequence[str] = ()) -> None:
        if kind not in ANSWER_KINDS:
            raise ConfigError("agreement.kind", f"must be one of {list(ANSWER_KINDS)}, got {kind!r}")
        if isinstance(min_agree, bool) or not isinstance(min_agree, int) or min_agree < 1:
            raise ConfigError("agreement.min_agree", f"must be an integer >= 1, got {min_agree!r}")
        self.kind = kind
        self.min_agree = min_agree
        self.peers = tuple(peers)

    def __call__(self, request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        query = request.query
        others = [(tier, c) for tier, c in previous_drafts(context) if from_peer(tier, self.peers)]
        mine = normalize_answer(draft.content, query, self.kind)
        if mine is None or not others:
            why = "no earlier draft to compare with" if mine is not None else "could not read an answer to compare"
            return agreement_verdict(0.0, False, f"agreement: {why}", context.threshold)
        agreeing = [tier for tier, c in others if normalize_answer(c.content, query, self.kind) == mine]
        score = len(agreeing) / len(others)
        passed = len(agreeing) >= self.min_agree and score >= context.threshold
        names = ", ".join(agreeing) if agreeing else "none"
        reason = f"agreement: {len(agreeing)} of {len(others)} earlier drafts give the same answer ({names})"
        return agreement_verdict(score, passed, reason, context.threshold)


def agreement_verdict(score: float, passed: bool, reason: str, threshold: float) -> Verdict:
    """The verdict of an agreement check (shared with the behaviour-comparing validator)."""
    return Verdict(score, passed, (reason,), (CheckResult(NAME, score, reason),), NAME, threshold)


def collect_draft(request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
    """A tier that never accepts: its draft is only kept as a reference for later tiers' agreement."""
    reason = "collect: draft kept as a reference for the next tiers, never accepted here"
    return Verdict(0.0, False, (reason,), (CheckResult("collect", 0.0, reason),), "collect", context.threshold)


# ------------------------------------------------------------------------------------------ plan strategies
AGREEMENT_KEYS: Final = frozenset({"kind", "min_agree", "peers", "execute"})


def execute_switch(settings: Mapping[str, Any], where: str) -> bool:
    """``agreement.execute``: a real boolean only (a truthiness test would run code for ``execute: "false"``)."""
    execute = settings.get("execute", False)
    if not isinstance(execute, bool):
        raise ConfigError(where, f"must be true or false, got {execute!r}")
    return execute


@dataclass(frozen=True, slots=True)
class AgreementStrategy:
    """``strategy: agreement`` with ``agreement: {kind, min_agree, peers, execute}``: accept when earlier drafts
    give the same answer (``execute: true`` compares code answers by running them in the sandbox)."""

    name: str = "agreement"
    settings_key: str | None = "agreement"

    def check(self, settings: Mapping[str, Any], where: str) -> Mapping[str, Any]:
        bad = sorted(set(settings) - AGREEMENT_KEYS, key=str)
        if bad:
            raise ConfigError(f"{where}.{bad[0]}", f"unknown key; use {sorted(AGREEMENT_KEYS)}")
        if "kind" in settings and not isinstance(settings["kind"], str):
            raise ConfigError(f"{where}.kind", f"must be a string, got {settings['kind']!r}")
        if "min_agree" in settings:
            check_int(f"{where}.min_agree", settings["min_agree"], lo=1)
        peers = settings.get("peers", [])
        if isinstance(peers, str) or not isinstance(peers, Sequence) or not all(isinstance(p, str) for p in peers):
            raise ConfigError(f"{where}.peers", f"must be a list of model names, got {peers!r}")
        execute_switch(settings, f"{where}.execute")
        return settings

    def runs_code(self, settings: Mapping[str, Any]) -> bool:
        return execute_switch(settings, "agreement.execute")

    def build(self, tier: TierPlan, settings: Mapping[str, Any], context: StrategyContext) -> Validator | None:
        min_agree = int(settings.get("min_agree", 1))
        peers = tuple(str(p) for p in settings.get("peers", ()))
        if self.runs_code(settings):
            from cascadeflow.cascade.quality.code_behaviour import BehaviourAgreementValidator

            return BehaviourAgreementValidator(min_agree=min_agree, peers=peers, setting="agreement.execute",
                                               runner=context.runner)
        return AgreementValidator(kind=str(settings.get("kind", "auto")), min_agree=min_agree, peers=peers)


AGREEMENT: Final = AgreementStrategy()
COLLECT: Final = FixedStrategy("collect", collect_draft)
