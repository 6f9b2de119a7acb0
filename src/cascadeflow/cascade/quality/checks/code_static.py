"""Code (static): a Python answer to a coding task must define something, with a body, that could run.

Read, never run (running is :mod:`~cascadeflow.cascade.quality.code_selftest`, opt-in and sandboxed): the answer's
code (its longest fenced block that parses) must define a function or class when one is asked for; the entry
function must not be a stub (``pass``, ``...``, ``raise NotImplementedError``); names its functions use must be
defined somewhere (a forgotten ``import math`` is a certain ``NameError``); and its own example calls must pass
as many arguments as the function takes. Whether the code *parses* is the ``answer_type`` check's job.
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
import sys
from dataclasses import dataclass
from typing import Final

from cascadeflow.cascade.quality.agreement import detect_kind, extract_python
from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.cascade.quality.checks.registry import CheckSpec
from cascadeflow.cascade.quality.text import fenced_blocks, python_syntax_error
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_number

NAME: Final = "code_static"
_NOT_CODE: Final = CheckResult(NAME, 1.0, "not a coding task", applicable=False)
_NO_CODE: Final = CheckResult(NAME, 1.0, "no Python code that parses (answer_type judges that)", applicable=False)
_ASKS_DEFINITION_RE: Final = re.compile(r"(?i:\b(?:function|method|class)\b)")
_PYTHON_TAGS: Final = frozenset({"", "python", "py", "python3", "py3"})
_BUILTINS: Final = frozenset(dir(builtins)) | {"__name__", "__file__", "__doc__", "__builtins__"}


@dataclass(frozen=True)
class CodeStaticSettings:
    """Scores of each finding (multiplied; below ``CheckSettings.veto`` rejects), each with its reason."""

    no_definition_score: float = 0.2
    """A function was asked for and the code defines none: it answers something else (or only shows usage)."""
    stub_score: float = 0.1
    """The function has no body (``pass``, ``...``, ``raise NotImplementedError``): nothing was implemented."""
    undefined_name_score: float = 0.2
    """A function uses a name nothing defines or imports: a ``NameError`` the first time that line runs."""
    missing_import_score: float = 0.6
    """A function uses a standard-library module it does not import (``math.sqrt`` without ``import math``):
    a real bug, but one the caller's own imports often hide, so doubt rather than a veto."""
    arity_score: float = 0.25
    """The answer's own example calls its function with a number of arguments it does not accept."""

    def __post_init__(self) -> None:
        for name in ("no_definition_score", "stub_score", "undefined_name_score", "missing_import_score",
                     "arity_score"):
            check_number(f"CodeStaticSettings.{name}", getattr(self, name), hi=1.0)


def _is_stub(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                          and isinstance(s.value.value, str))]
    if not body:
        return True  # only a docstring
    if len(body) != 1:
        return False
    only = body[0]
    if isinstance(only, ast.Pass):
        return True
    if isinstance(only, ast.Expr) and isinstance(only.value, ast.Constant) and only.value.value is Ellipsis:
        return True
    if isinstance(only, ast.Raise) and only.exc is not None:
        exc = only.exc.func if isinstance(only.exc, ast.Call) else only.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


def undefined_names(code: str) -> list[str]:
    """Names that functions of ``code`` read as globals but that nothing at module level defines or imports."""
    try:
        table = symtable.symtable(code, "answer", "exec")
    except (SyntaxError, ValueError, RecursionError):
        return []
    defined = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    star_import = "import *" in code
    missing: list[str] = []
    stack = list(table.get_children())
    while stack:
        scope = stack.pop()
        stack.extend(scope.get_children())
        for symbol in scope.get_symbols():
            name = symbol.get_name()
            if (symbol.is_referenced() and symbol.is_global() and not symbol.is_assigned()
                    and name not in defined and name not in _BUILTINS and name not in missing):
                missing.append(name)
    return [] if star_import else sorted(missing)


def _last_definitions(tree: ast.Module) -> str:
    """The code with only the last definition of each top-level name (answers often show a skeleton, then the
    full function under the same name)."""
    last = {n.name: i for i, n in enumerate(tree.body) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef
                                                                      | ast.ClassDef)}
    body = [n for i, n in enumerate(tree.body) if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef
                                                                  | ast.ClassDef) or last[n.name] == i]
    return ast.unparse(ast.Module(body=body, type_ignores=[]))


def _arity_errors(tree: ast.Module) -> list[str]:
    """Module-level example calls of the answer's own functions with an argument count they cannot take."""
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    errors: list[str] = []
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for node in ast.walk(statement):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions):
                continue
            args = functions[node.func.id].args
            if args.vararg or args.kwarg or node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                continue
            positional = len(args.posonlyargs) + len(args.args)
            required = positional - len(args.defaults)
            if not required <= len(node.args) <= positional:
                errors.append(f"{node.func.id}() takes {positional} argument(s), its example passes {len(node.args)}")
    return errors


def answer_code(answer: str) -> str | None:
    """All of the answer's Python, in order: its fenced blocks that parse (a definition block and a usage block
    are one program), else :func:`~cascadeflow.cascade.quality.agreement.extract_python`'s pick."""
    blocks = [code for tag, code in fenced_blocks(answer) if tag in _PYTHON_TAGS and python_syntax_error(code) is None]
    if blocks:
        joined = "\n".join(blocks)
        return joined if python_syntax_error(joined) is None else max(blocks, key=len)
    return extract_python(answer)


def check_code_static(
    request: CompletionRequest, draft: Completion, context: ValidationContext, settings: CodeStaticSettings
) -> CheckResult:
    """Defines what was asked, with a body, no undefined names, and its own examples call it right."""
    if draft.tool_calls or not draft.content.strip() or detect_kind(request.query) != "code":
        return _NOT_CODE
    code = answer_code(draft.content)
    if code is None:
        return _NO_CODE
    tree = ast.parse(code)
    s = settings
    score, findings = 1.0, []
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    if not defs and _ASKS_DEFINITION_RE.search(request.query):
        score *= s.no_definition_score
        findings.append("defines no function or class")
    stubs = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
             and _is_stub(n)]
    if stubs and len(stubs) == len([n for n in defs if not isinstance(n, ast.ClassDef)]):
        score *= s.stub_score
        findings.append(f"{stubs[0]}() has no body")
    missing = undefined_names(_last_definitions(tree))
    modules = [name for name in missing if name in sys.stdlib_module_names]
    unknown = [name for name in missing if name not in modules]
    if unknown:
        score *= s.undefined_name_score
        findings.append(f"uses undefined name(s) {', '.join(unknown[:3])}")
    if modules:
        score *= s.missing_import_score
        findings.append(f"does not import {', '.join(modules[:3])}")
    arity = _arity_errors(tree)
    if arity:
        score *= s.arity_score
        findings.append(arity[0])
    if not findings:
        return CheckResult(NAME, 1.0, "code_static: defines what was asked, no undefined names")
    return CheckResult(NAME, score, "code_static: " + "; ".join(findings))


SPEC: Final = CheckSpec(
    name=NAME,
    run=check_code_static,
    settings=CodeStaticSettings,
    weight=1.5,  # like answer_type, which judges whether the code parses
    order=56,
)
