"""The layer map of docs/architecture.md, enforced: imports point downward only; the public API tables agree.

Every ``import`` in src/cascadeflow (top-level, inside functions and under TYPE_CHECKING alike) is checked against
the layer of the importing module. A new package must be given a layer here, or this test fails.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import cascadeflow

SRC = Path(__file__).resolve().parents[1] / "src" / "cascadeflow"

LAYERS: dict[str, int] = {
    # core
    "cascadeflow.types": 0, "cascadeflow.config": 0, "cascadeflow.errors": 0, "cascadeflow.secret": 0,
    "cascadeflow.validate": 0, "cascadeflow.request_args": 0, "cascadeflow.llama_build": 0, "cascadeflow.dotenv": 0,
    "cascadeflow.store_errors": 0,
    # models
    "cascadeflow.providers": 1, "cascadeflow.pricing": 1, "cascadeflow.price_cache": 1, "cascadeflow.price_sources": 1,
    # resilience
    "cascadeflow.resilience": 2,
    # cascade
    "cascadeflow.cascade": 3,
    # governance
    "cascadeflow.harness": 4, "cascadeflow.policies": 4, "cascadeflow.budget": 4, "cascadeflow.traffic": 4,
    # composition: the agent wires tiers, providers, validators and governance hooks together
    "cascadeflow.agent": 5, "cascadeflow.cascade_agent": 5, "cascadeflow.local_defaults": 5,
    "cascadeflow.env_config": 5, "cascadeflow.agent_wiring": 5, "cascadeflow.production": 5,
    # shadow-mode self-calibration wraps an agent and feeds its validators (opt-in, runtime)
    "cascadeflow.shadow": 5,
    # offline
    "cascadeflow.calibrate": 6, "cascadeflow.bench": 6,
    # surface
    "cascadeflow.cli": 7, "cascadeflow.server": 7, "cascadeflow.integrations": 7, "cascadeflow.doctor": 7,
    "cascadeflow": 7,
}
OFFLINE = 6


def layer_of(module: str) -> int:
    parts = module.split(".")
    for end in range(len(parts), 1, -1):
        prefix = ".".join(parts[:end])
        if prefix in LAYERS:
            return LAYERS[prefix]
    if module == "cascadeflow":
        return LAYERS[module]
    raise AssertionError(f"{module} has no layer in tests/test_layers.py::LAYERS")


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
    return {name for name in found if name == "cascadeflow" or name.startswith("cascadeflow.")}


def test_imports_point_downward_only() -> None:
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        module = module_name(path)
        own = layer_of(module)
        for target in imported(ast.parse(path.read_text()), module, path.name == "__init__.py"):
            if target == "cascadeflow":
                continue  # the package root's lazy table is for users, never imported from inside
            theirs = layer_of(target)
            if theirs > own and not (own == OFFLINE and theirs == OFFLINE):
                wrong.append(f"{module} (layer {own}) imports {target} (layer {theirs})")
    assert wrong == []


def test_the_runtime_never_imports_offline_tools() -> None:
    for path in SRC.rglob("*.py"):
        module = module_name(path)
        if layer_of(module) < OFFLINE:
            targets = imported(ast.parse(path.read_text()), module, path.name == "__init__.py")
            assert not {t for t in targets if layer_of(t) == OFFLINE}, module


def test_public_api_tables_agree() -> None:
    """``__all__``, the lazy export table and the TYPE_CHECKING imports of cascadeflow/__init__.py name the same
    things, and every name resolves."""
    tree = ast.parse((SRC / "__init__.py").read_text())
    typed: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    typed.update(alias.asname or alias.name for alias in stmt.names)
    exports = set(cascadeflow._EXPORTS)
    public = set(cascadeflow.__all__) - {"__version__"}
    assert exports == public, exports ^ public
    assert typed == public, typed ^ public
    for name, module in cascadeflow._EXPORTS.items():
        assert hasattr(importlib.import_module(module), name), f"{module}.{name}"
