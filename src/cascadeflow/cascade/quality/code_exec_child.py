"""Runs one model-written answer inside the sandbox and reports what it does (only the standard library).

:mod:`cascadeflow.cascade.quality.code_behaviour` runs this program with
:class:`~cascadeflow.cascade.quality.sandbox.Sandbox`, once per answer (twice when other answers supplied
inputs): the sandbox has already set the limits and dropped privileges; nothing here is a security boundary.
The answer can rewrite this program's output, so the parent trusts the report only as this answer's claim about
itself and compares answers itself.

Protocol: a JSON object in the file named by ``sys.argv[1]``, ``{"code": source, "inputs": [repr, ...] | null,
"max_inputs": int, "call_timeout_s": float, "max_input_chars": int, "max_signature_chars": int}``; one JSON
line, the last line on stdout, ``{"entry": bool, "inputs": [repr, ...], "outputs": [signature, ...]}``.

1. **Harvest inputs.** The definitions run first; then the *entry* function (the top-level function the
   answer's own example code calls, else its last top-level function) is wrapped so that the rest of the
   module — the "example usage" lines models like to add — records the positional arguments it is called
   with. Only arguments that survive ``repr`` → ``ast.literal_eval`` (numbers, strings, lists, tuples, dicts,
   sets, booleans, None) are kept, so any other answer can be called with an exact copy.
2. **Run.** The entry function is called on every input (``inputs`` when given, else its own first
   ``max_inputs``), a fresh copy each time; the signature of one call is ``repr`` of its result (a sha256 of it
   when longer than ``max_signature_chars``), or ``error:<ExceptionType>``.

Each step runs under ``signal.alarm`` timeouts, with stdout silenced; ``input()`` finds stdin at end of file.
"""

from __future__ import annotations

import ast
import io
import json
import signal
import sys
from collections.abc import Callable
from typing import Any

_SKIPPED_AT_DEFINITION = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so model code's ``except Exception`` cannot swallow it."""


def _alarm(_signum: int, _frame: object) -> None:
    raise _Timeout


def _entry_name(tree: ast.Module) -> str | None:
    defs = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    if not defs:
        return None
    for statement in tree.body:
        if isinstance(statement, _SKIPPED_AT_DEFINITION):
            continue
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in defs:
                return node.func.id
    return defs[-1]


def _timed(seconds: float, fn: Callable[[], Any]) -> Any:
    # No contextlib here (nor hashlib until needed): every import is paid by every sandboxed run.
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout, sys.stderr = saved


def _load(source: str, call_timeout_s: float) -> tuple[Callable[..., Any] | None, list[str]]:
    """The entry function of ``source`` and the inputs its own example code called it with."""
    tree = ast.parse(source)
    entry = _entry_name(tree)
    if entry is None:
        return None, []
    definitions = ast.Module([s for s in tree.body if isinstance(s, _SKIPPED_AT_DEFINITION)], [])
    examples = ast.Module([s for s in tree.body if not isinstance(s, _SKIPPED_AT_DEFINITION)], [])
    namespace: dict[str, Any] = {"__name__": "__main__"}
    _timed(call_timeout_s, lambda: exec(compile(definitions, "<answer>", "exec"), namespace))
    function = namespace.get(entry)
    if not callable(function):
        return None, []
    seen: list[str] = []

    def recorder(*args: Any, **kwargs: Any) -> Any:
        if not kwargs:
            try:
                text = repr(args)
                ast.literal_eval(text)
                if text not in seen:
                    seen.append(text)
            except Exception:
                pass
        return function(*args, **kwargs)

    namespace[entry] = recorder
    try:  # noqa: SIM105 (contextlib costs every sandboxed run its import)
        _timed(call_timeout_s, lambda: exec(compile(examples, "<examples>", "exec"), namespace))
    except (Exception, _Timeout):
        pass
    return function, seen


def _signature(function: Callable[..., Any], text: str, call_timeout_s: float, longest: int) -> str:
    try:
        shown = repr(_timed(call_timeout_s, lambda: function(*ast.literal_eval(text))))
    except (Exception, _Timeout) as exc:
        return f"error:{type(exc).__name__}"
    if len(shown) > longest:  # equal results still compare equal, and the report stays small
        import hashlib

        return "sha256:" + hashlib.sha256(shown.encode(errors="surrogatepass")).hexdigest()
    return shown


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as file:
        request = json.load(file)
    signal.signal(signal.SIGALRM, _alarm)
    timeout = float(request["call_timeout_s"])
    try:
        function, seen = _load(request["code"], timeout)
    except (Exception, _Timeout):
        function, seen = None, []
    given = request.get("inputs")
    own = [text for text in seen if len(text) <= int(request["max_input_chars"])][: int(request["max_inputs"])]
    inputs = own if given is None else [str(text) for text in given]
    longest = int(request["max_signature_chars"])
    outputs = [] if function is None else [_signature(function, text, timeout, longest) for text in inputs]
    report = json.dumps({"entry": function is not None, "inputs": own, "outputs": outputs})
    real_stdout = sys.__stdout__
    if real_stdout is not None:
        real_stdout.write("\n" + report + "\n")
        real_stdout.flush()


if __name__ == "__main__":
    main()
