"""No module-level mutable state in src/cascadeflow: state lives in objects someone holds (agent, pool, runner).

Flagged at module level: ``global`` statements; assignments of mutable containers (list/dict/set displays and
comprehensions, ``list()``/``dict()``/``set()``/``defaultdict()``/``deque()``/``OrderedDict()``/``Counter()``);
``lru_cache``/``cache`` on module-level functions (a hidden dict of arguments — user queries, say). Constant tables
are ``MappingProxyType``/``tuple``/``frozenset``. Context variables (``contextvars.ContextVar``) are fine: their
values belong to each context, not the module.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "cascadeflow"
MUTABLE_CALLS = frozenset({"list", "dict", "set", "defaultdict", "deque", "OrderedDict", "Counter", "bytearray"})
CACHES = frozenset({"lru_cache", "cache", "cached_property"})


def _called(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return None


def _mutable(value: ast.expr | None) -> bool:
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
        return True
    return _called(value) in MUTABLE_CALLS if value is not None else False


def findings(tree: ast.Module, where: str) -> list[str]:
    found = [f"{where}:{n.lineno} global {', '.join(n.names)}" for n in ast.walk(tree) if isinstance(n, ast.Global)]
    for node in tree.body:
        names = [t.id for t in (node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)])
                 if isinstance(t, ast.Name)] if isinstance(node, ast.Assign | ast.AnnAssign) else []
        if names == ["__all__"]:
            continue  # the star-import list: a convention tools read, never mutated
        if isinstance(node, ast.Assign | ast.AnnAssign) and _mutable(node.value):
            found.append(f"{where}:{node.lineno} module-level mutable {ast.unparse(node)[:60]}")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for deco in node.decorator_list:
                name = deco.id if isinstance(deco, ast.Name) else _called(deco) or getattr(deco, "attr", None)
                if name in CACHES:
                    found.append(f"{where}:{node.lineno} @{name} on {node.name}")
    return found


def test_no_module_level_mutable_state() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        found += findings(ast.parse(path.read_text()), str(path.relative_to(SRC)))
    assert found == []


def test_the_scan_finds_what_it_should() -> None:
    sample = ast.parse("import functools\nX = []\nY: dict[str, int] = {}\nZ = dict(a=1)\nOK = (1, 2)\n"
                       "@functools.lru_cache(maxsize=2)\ndef f(q): return q\ndef g():\n    global X\n")
    assert len(findings(sample, "m")) == 5
