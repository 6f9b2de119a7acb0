"""Answer type: when the question asks for a number, code or JSON, the answer must contain one that works.

The expected type comes from ``request.response_format`` or from the wording of the question; the check is
not applicable when neither asks for a particular type (most questions).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from cascadeflow.cascade.quality.agreement import parse_options
from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.cascade.quality.checks.registry import CheckSpec
from cascadeflow.cascade.quality.text import (
    PYTHON_LINE_RE,
    brackets_balanced,
    fenced_blocks,
    python_syntax_error,
    words_of,
)
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_number

NAME: Final = "answer_type"
_NOT_TYPED: Final = CheckResult(NAME, 1.0, "no particular answer type asked for", applicable=False)
_CHOICE: Final = CheckResult(NAME, 1.0, "a multiple-choice question: the choice check judges it", applicable=False)
_NO_TEXT: Final = CheckResult(NAME, 1.0, "no text to judge", applicable=False)
_HAS_NUMBER: Final = CheckResult(NAME, 1.0, "answer_type: contains a number")
_NO_NUMBER: Final = CheckResult(NAME, 0.0, "answer_type: asked for a number, the answer contains none")

_JSON_ASK_RE: Final = re.compile(
    # Only an explicit request for JSON output counts: "What is a JSON object?" or "formats such as JSON"
    # ask about JSON, they do not ask for it.
    r"(?<!such )\b(?:as|into)\s+(?:(?:a|an|valid|raw|strict|pure|only)\s+)*json\b"
    r"|\b(?:return|output|give me|produce|generate|write|emit|print|create)\s+"
    r"(?:(?:a|an|the|valid|only|raw|strict|pure|back)\s+)*json\b"
    r"|\b(?:respond|reply|answer)\s+(?:only\s+)?(?:in|with)\s+(?:(?:a|an|valid)\s+)*json\b"
    r"|\bin json format\b|\bjson only\b"
)
_CODE_ASK_RE: Final = re.compile(
    r"\b(?:write|implement|create|give me|generate|provide|fix|refactor|code up)\b"
    r"[^.?!\n]{0,60}?\b(?:function|class|method|script|program|snippet|code|implementation|decorator|one-liner)s?\b"
    r"|\b(?:python|javascript|typescript|rust|java|golang|c\+\+|ruby|bash|sql)\s+"
    r"(?:code|function|script|program|snippet|class|implementation)\b"
)
_PROSE_ASK_RE: Final = re.compile(r"\b(?:poem|story|essay|song|haiku|limerick|letter|email|joke|blog)\b")
"""Creative writing *about* code ("a poem about clean code") asks for prose, not for code."""
_LANG_RE: Final = re.compile(
    r"\b(python|javascript|typescript|rust|golang|java|kotlin|swift|ruby|php|bash|shell|sql|scala|haskell|lua)\b"
    r"|(c\+\+|c#)|\bin (go|c)\b"
)
_NUMBER_ASK_RE: Final = re.compile(
    # "how much do you know", "how big a deal" ask for prose: only unambiguous quantity questions count.
    r"\bhow (?:many|much (?:is|are|was|were|will|would|money|time|memory|space)|old|tall|far|fast|heavy"
    r"|long (?:is|was|does|did|will|would))\b"
    r"|\bwhat(?: is|'s) (?:the )?(?:sum|product|total|average|mean|median|percentage|probability|square root"
    r"|area|volume|population|boiling point|melting point)\b|\bwhat percent"
    r"|\bsolve for\b|\bsolve (?:the |this )?equation|\d\s*(?:[-+*/×÷^]|\sx\s)\s*\d"
)
_NOT_ARITHMETIC_RE: Final = re.compile(r"[a-z][a-z0-9+.-]*://\S+|\]\([^)\s]*\)|#[\w.:/-]+")
"""URLs, markdown link targets and anchors or hashtags (``#0-1``, ``#section-2``): the digits in them are names,
not a sum to work out, so they are removed before looking for a number question."""
_NUMERIC_VERB_RE: Final = re.compile(r"\b(?:calculate|compute)\b")  # counts only with a digit in the question
_DIGIT_RE: Final = re.compile("[0-9]")
_NUMBER_WORDS: Final = frozenset(
    words_of(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand "
        "million billion trillion dozen half none once twice"
    )
)
_CODE_NOUNS: Final = ("function", "class", "method", "script", "program", "snippet", "code", "implementation",
                      "decorator", "one-liner")  # fmt: skip
"""``_CODE_ASK_RE`` needs one of these nouns; most questions have none and skip the regex."""
_LANGUAGE_ALIASES: Final = MappingProxyType({
    "py": "python", "py3": "python", "python3": "python", "ipython": "python", "pycon": "python",
    "js": "javascript", "jsx": "javascript", "ts": "typescript", "tsx": "typescript", "sh": "bash",
    "shell": "bash", "zsh": "bash", "golang": "go", "c++": "cpp", "cxx": "cpp", "rs": "rust", "rb": "ruby",
})  # fmt: skip
_OUTPUT_TAGS: Final = frozenset({"text", "txt", "plaintext", "output", "console", "log", "stdout"})
"""Fences that show program output, not code: they neither satisfy nor fail a request for code."""
_TRAILING_PROSE_LINES: Final = 3  # unfenced code is often followed by a line or two of explanation
_CODE_OK: Final = CheckResult(NAME, 1.0, "answer_type: the code parses")
_NON_PYTHON_HINT_RE: Final = re.compile(r"[{;]|=>|^\s*(?:function|const|let|var|fn|func|public|#include)\b", re.M)


@dataclass(frozen=True)
class AnswerTypeSettings:
    """Scores of answers of the asked-for type that are usable but not clean, each with its reason."""

    json_embedded_score: float = 0.8
    """JSON that parses only after cutting prose around it is usable but less clean than a bare object."""
    unfenced_code_score: float = 0.6
    """Code-like lines that are not fenced and do not parse alone cannot be checked: mild doubt, no veto."""

    def __post_init__(self) -> None:
        for name in ("json_embedded_score", "unfenced_code_score"):
            check_number(f"AnswerTypeSettings.{name}", getattr(self, name), hi=1.0)


def _expected(request: CompletionRequest) -> str | None:
    """"json", "code", "number" or None, from the response format or the question's wording."""
    if request.response_format == "json":
        return "json"
    query = request.query.lower()
    for noun in _CODE_NOUNS:
        if noun in query:
            if _CODE_ASK_RE.search(query) and not _PROSE_ASK_RE.search(query):
                return "code"
            break
    if "json" in query and _JSON_ASK_RE.search(query):
        return "json"
    if "#" in query or "://" in query or "](" in query:
        query = _NOT_ARITHMETIC_RE.sub(" ", query)
    if _NUMBER_ASK_RE.search(query) or (
        ("calculat" in query or "comput" in query) and _NUMERIC_VERB_RE.search(query) and _DIGIT_RE.search(query)
    ):
        return "number"
    return None


def _check_json(answer: str, strict: bool, settings: AnswerTypeSettings) -> CheckResult:
    text = answer.strip()
    try:
        json.loads(text)
        return CheckResult(NAME, 1.0, "answer_type: valid JSON")
    except ValueError as exc:
        error = str(exc)
    for tag, block in fenced_blocks(text):
        if tag in ("", "json", "jsonc", "json5"):
            try:
                json.loads(block)
            except ValueError:
                continue
            score = settings.json_embedded_score if strict else 1.0
            return CheckResult(NAME, score, "answer_type: valid JSON in a code block")
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    end = max(text.rfind("}"), text.rfind("]"))
    if starts and (start := min(starts)) < end:
        try:
            json.loads(text[start : end + 1])
            return CheckResult(NAME, settings.json_embedded_score, "answer_type: JSON wrapped in prose")
        except ValueError:
            pass
    return CheckResult(NAME, 0.0, f"answer_type: asked for JSON, the answer is not valid JSON ({error})")


def _language(name: str | None) -> str | None:
    return _LANGUAGE_ALIASES.get(name, name) if name else None


def _code_block_error(lang: str | None, code: str) -> str | None:
    """None when the block is plausible code in its language (Python is parsed), else why not."""
    if lang is None or lang == "python":
        error = python_syntax_error(code)
        if error is None:
            return None
        if lang is None and _NON_PYTHON_HINT_RE.search(code) and not PYTHON_LINE_RE.search(code):
            return None if brackets_balanced(code) else "unbalanced brackets"
        return f"Python syntax error, {error}"
    return None if brackets_balanced(code) and code.strip() else f"{lang} code is empty or has unbalanced brackets"


def _check_fenced(blocks: list[tuple[str, str]], query_lang: str | None) -> CheckResult:
    """Pass when a block in the asked-for language (any code block if none is) is valid code."""
    code = [(_language(tag) or query_lang, body) for tag, body in blocks if tag not in _OUTPUT_TAGS]
    wanted = [(lang, body) for lang, body in code if query_lang is None or lang == query_lang] or code
    errors = [_code_block_error(lang, body) for lang, body in wanted]
    if any(e is None for e in errors):
        return _CODE_OK
    why = errors[0] if errors else "only output blocks"
    return CheckResult(NAME, 0.0, f"answer_type: asked for code, the code does not parse ({why})")


def _check_unfenced(answer: str, settings: AnswerTypeSettings) -> CheckResult:
    """Code written without a fence: parse it from its first code line, allowing a few lines of prose after."""
    match = PYTHON_LINE_RE.search(answer)
    if match is None:
        return CheckResult(NAME, 0.0, "answer_type: asked for code, the answer contains none")
    region = answer[answer.rfind("\n", 0, match.start()) + 1 :].rstrip().splitlines()
    error = None
    for end in range(len(region), max(len(region) - _TRAILING_PROSE_LINES, 1) - 1, -1):
        error = python_syntax_error("\n".join(region[:end]))
        if error is None:
            return _CODE_OK
    if not answer[: match.start()].strip():  # the answer is nothing but (broken) code
        return CheckResult(NAME, 0.0, f"answer_type: asked for code, the code does not parse ({error})")
    return CheckResult(
        NAME, settings.unfenced_code_score, "answer_type: unfenced code mixed with prose (not parsed)"
    )


def check_answer_type(
    request: CompletionRequest, draft: Completion, context: ValidationContext, settings: AnswerTypeSettings
) -> CheckResult:
    """Number asked → a number present; code asked → code that parses; JSON asked → valid JSON."""
    if draft.tool_calls or not draft.content.strip():
        return _NO_TEXT
    expected = _expected(request)
    if expected is None:
        return _NOT_TYPED
    if expected == "number" and parse_options(request.query):
        return _CHOICE  # "How many legs ...? A) 2 B) 4": the answer is an option, judged by the choice check
    answer = draft.content
    if expected == "json":
        return _check_json(answer, request.response_format == "json", settings)
    if expected == "code":
        match = _LANG_RE.search(request.query.lower())
        query_lang = _language(next((g for g in match.groups() if g), None)) if match else None
        blocks = fenced_blocks(answer)
        return _check_fenced(blocks, query_lang) if blocks else _check_unfenced(answer, settings)
    if _DIGIT_RE.search(answer) or not _NUMBER_WORDS.isdisjoint(words_of(answer.lower())):
        return _HAS_NUMBER
    return _NO_NUMBER


SPEC: Final = CheckSpec(
    name=NAME,
    run=check_answer_type,
    settings=AnswerTypeSettings,
    weight=1.5,  # asking for a number/code/JSON and getting something else is a hard mismatch
    order=50,
)
