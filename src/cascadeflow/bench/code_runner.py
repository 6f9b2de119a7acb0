"""A :data:`~cascadeflow.bench.checkable.CodeRunner` that runs model-written code in the sandbox.

The answer's definitions (functions, classes, imports, plain constants) are kept and its own example lines
dropped; calls of the entry function on the probe inputs are appended, and the sandboxed runner
(:class:`~cascadeflow.cascade.quality.code_behaviour.BehaviourRunner`, bubblewrap) reports what the entry
function returned on exactly the probe inputs (the appended calls only name the entry function). A call that
raised counts as ``None``; an answer that could not run at all gives ``None`` overall.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any, Final

from cascadeflow.cascade.quality.code_behaviour import BehaviourRunner, ExecutionLimits
from cascadeflow.cascade.quality.sandbox import Sandbox

_KEPT: Final = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def _calls(node: ast.stmt, entry: str) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == entry for n in ast.walk(node))


def probe_program(code: str, entry: str, probes: Sequence[tuple[Any, ...]]) -> str | None:
    """The answer's definitions followed by one call of ``entry`` per probe; None when the code does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return None
    kept: list[ast.stmt] = [s for s in tree.body
                            if isinstance(s, _KEPT) or (isinstance(s, ast.Assign) and not _calls(s, entry))]
    calls = [f"{entry}(*{tuple(args)!r})" for args in probes]
    return ast.unparse(ast.Module(body=kept, type_ignores=[])) + "\n" + "\n".join(calls) + "\n"


class SandboxCodeRunner:
    """``(code, entry, probes) -> return values`` (blocking); one sandbox per answer."""

    def __init__(self, runner: BehaviourRunner | None = None) -> None:
        self.runner = runner or BehaviourRunner(Sandbox.detect("checkable code"), ExecutionLimits(max_inputs=8))

    def __call__(self, code: str, entry: str, probes: Sequence[tuple[Any, ...]]) -> list[Any] | None:
        program = probe_program(code, entry, probes)
        if program is None:
            return None
        outputs = self.runner.outputs_on(program, [repr(tuple(args)) for args in probes])
        if outputs is None or len(outputs) != len(probes):
            return None
        values: list[Any] = []
        for signature in outputs:
            try:
                values.append(None if signature.startswith("error:") else ast.literal_eval(signature))
            except (ValueError, SyntaxError, RecursionError):
                values.append(None)  # a result that is no literal (an object): not the expected value
        return values
