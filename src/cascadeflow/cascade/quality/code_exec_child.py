"""Child process of :mod:`cascadeflow.cascade.quality.code_behaviour`: runs model-written Python, reports behaviour.

Executed by file path as ``python -I code_exec_child.py`` (isolated mode: no site-packages, no environment, no
current directory on ``sys.path``), so it imports nothing from cascadeflow — only the standard library.

Protocol: one JSON object on stdin, ``{"codes": {key: source}, "max_inputs": int, "call_timeout_s": float}``
(``max_inputs`` per source); one JSON line, the last line on stdout, ``{"inputs": [repr, ...],
"harvested_by": [[key, ...], ...], "outputs": {key: [signature, ...] | null}}``.

1. **Harvest inputs.** Each source's definitions run first; then its *entry* function (the top-level function
   its own example code calls, else its last top-level function) is wrapped so that the rest of the module —
   the "example usage" lines models like to add — records the positional arguments it is called with. Only
   arguments that survive ``repr`` → ``ast.literal_eval`` (numbers, strings, lists, tuples, dicts, sets,
   booleans, None) are kept, so every other source can be called with an exact copy.
2. **Run.** Every source's entry function is called on every harvested input (a fresh copy each time);
   the signature of one call is ``repr`` of its result, or ``error:<ExceptionType>``.

Each step runs under ``signal.alarm`` timeouts, with stdout silenced; ``input()`` finds a closed stdin.
"""

from __future__ import annotations

import ast
import contextlib
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
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


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
            with contextlib.suppress(Exception):
                text = repr(args)
                ast.literal_eval(text)
                if text not in seen:
                    seen.append(text)
        return function(*args, **kwargs)

    namespace[entry] = recorder
    with contextlib.suppress(Exception, _Timeout):
        _timed(call_timeout_s, lambda: exec(compile(examples, "<examples>", "exec"), namespace))
    return function, seen


def _signature(function: Callable[..., Any], text: str, call_timeout_s: float) -> str:
    try:
        return repr(_timed(call_timeout_s, lambda: function(*ast.literal_eval(text))))
    except (Exception, _Timeout) as exc:
        return f"error:{type(exc).__name__}"


def _limit(cpu_s: int, memory_mb: int) -> None:
    """POSIX limits on this process, set before any answer runs (absent ``resource``: Windows, none)."""
    try:
        import resource
    except ImportError:
        return
    megabyte = 1024 * 1024
    for kind, value in ((resource.RLIMIT_CPU, cpu_s), (resource.RLIMIT_AS, memory_mb * megabyte),
                        (resource.RLIMIT_FSIZE, megabyte), (resource.RLIMIT_NOFILE, 64)):
        with contextlib.suppress(ValueError, OSError):
            _, hard = resource.getrlimit(kind)
            capped = value if hard == resource.RLIM_INFINITY else min(value, hard)
            # Soft and hard alike: the answer's code cannot raise its own limits back.
            resource.setrlimit(kind, (capped, capped))


def main() -> None:
    request = json.load(sys.stdin)
    _limit(int(request.get("cpu_s", 20)), int(request.get("memory_mb", 1024)))
    sys.stdin = io.StringIO("")  # input() in model code sees end of file, not our protocol
    signal.signal(signal.SIGALRM, _alarm)
    timeout = float(request.get("call_timeout_s", 1.0))
    limit = int(request.get("max_inputs", 4))
    functions: dict[str, Callable[..., Any] | None] = {}
    inputs: list[str] = []
    harvested_by: list[list[str]] = []
    for key, source in request["codes"].items():
        try:
            function, seen = _load(source, timeout)
        except (Exception, _Timeout):
            function, seen = None, []
        functions[key] = function
        for text in seen[:limit]:
            if text not in inputs:
                inputs.append(text)
                harvested_by.append([])
            harvested_by[inputs.index(text)].append(key)
    outputs = {
        key: None if function is None else [_signature(function, text, timeout) for text in inputs]
        for key, function in functions.items()
    }
    report = json.dumps({"inputs": inputs, "harvested_by": harvested_by, "outputs": outputs})
    real_stdout = sys.__stdout__
    if real_stdout is not None:
        real_stdout.write("\n" + report + "\n")


if __name__ == "__main__":
    main()
