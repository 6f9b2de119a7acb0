"""Runs one answer's code inside the sandbox and reports what its claimed example lines print (stdlib only).

:mod:`cascadeflow.cascade.quality.code_selftest` runs this with the sandbox, which has already set the limits and
dropped privileges; nothing here is a security boundary, and the parent compares the report with the claims.

Protocol: a JSON object in the file named by ``sys.argv[1]``, ``{"code": source, "lines": [lineno, ...],
"timeout_s": float}``; one JSON line, the last line on stdout, ``{"printed": {"<lineno>": text | null}}`` — what
each top-level statement starting on a claimed line printed (null: it raised, or an ``assert`` failed).
"""

from __future__ import annotations

import ast
import io
import json
import signal
import sys


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so model code's ``except Exception`` cannot swallow it."""


def _alarm(_signum: int, _frame: object) -> None:
    raise _Timeout


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as file:
        request = json.load(file)
    signal.signal(signal.SIGALRM, _alarm)
    wanted = {int(n) for n in request["lines"]}
    timeout = float(request["timeout_s"])
    printed: dict[str, str | None] = {}
    namespace: dict[str, object] = {"__name__": "__main__"}
    real = sys.stdout
    try:
        tree = ast.parse(request["code"])
    except (SyntaxError, ValueError, RecursionError):
        tree = ast.Module([], [])
    for statement in tree.body:
        buffer = io.StringIO()
        sys.stdout = sys.stderr = buffer
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            exec(compile(ast.Module([statement], []), "<answer>", "exec"), namespace)
            text: str | None = buffer.getvalue()
        except (Exception, _Timeout):
            text = None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdout = sys.stderr = real
        if statement.lineno in wanted:
            printed[str(statement.lineno)] = text
    if real is not None:
        real.write("\n" + json.dumps({"printed": printed}) + "\n")
        real.flush()


if __name__ == "__main__":
    main()
