"""Govern calls made directly with the ``openai`` and ``anthropic`` SDKs inside a run.

Each SDK module wraps its clients' own ``create`` methods (sync and async, streaming included), the way tracing
libraries do: inside an active run every call asks the run's sessions first and reports its usage and cost after;
outside a run the call is untouched. :func:`instrument_sdk` returns a function that undoes the patch, or None
when the SDK is not installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def instrument_sdk(name: str) -> Callable[[], None] | None:
    """Patch SDK ``name`` (``openai`` or ``anthropic``); None when it is not installed."""
    try:
        importlib.import_module(name)
    except ImportError:
        return None
    module = importlib.import_module(f"cascadeflow.harness.instrument.{name}_sdk")
    undo: Callable[[], None] = module.instrument()
    return undo
