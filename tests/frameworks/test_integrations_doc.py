"""docs/integrations.md stays honest: its snippets parse and it points at every example CI runs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "integrations.md"


def test_every_python_snippet_parses() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 6
    for block in blocks:
        if "await " in block:  # the async frameworks are shown with top-level await: parse as a coroutine body
            block = "async def _():\n" + "\n".join("    " + line for line in block.splitlines())
        ast.parse(block)


def test_every_example_is_documented() -> None:
    text = DOC.read_text()
    for example in sorted((ROOT / "examples" / "integrations").glob("*.py")):
        assert f"examples/integrations/{example.name}" in text, example.name
