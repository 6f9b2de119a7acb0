"""Keep httpx's command-line client out of every process that only needs its HTTP client.

``import httpx`` also imports ``httpx._main`` (its CLI), which pulls in click, rich and pygments when they are
installed: ~85 ms on a 2-core machine, more than half of cascadeflow's whole cold-start budget. cascadeflow never
uses that CLI. :func:`defer_httpx_cli` registers a stand-in module whose ``main`` imports the real one on first
call, so ``httpx.main()`` still works. It does nothing once httpx (or its CLI) has been imported by anyone.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

_CLI = "httpx._main"


def _real_main(*args: Any, **kwargs: Any) -> Any:
    if getattr(sys.modules.get(_CLI), "_cascadeflow_stand_in", False):
        del sys.modules[_CLI]
    return importlib.import_module(_CLI).main(*args, **kwargs)


def defer_httpx_cli() -> None:
    """Call before the first ``import httpx`` of the process (cheap and idempotent)."""
    if "httpx" in sys.modules or _CLI in sys.modules:
        return
    stand_in = types.ModuleType(_CLI, "httpx's command-line client, imported on first use (see cascadeflow)")
    stand_in.main = _real_main  # type: ignore[attr-defined]
    stand_in._cascadeflow_stand_in = True  # type: ignore[attr-defined]
    sys.modules[_CLI] = stand_in
