"""``cascadeflow.agent`` is the run decorator; this module keeps ``from cascadeflow.agent import CascadeAgent``
working.

``CascadeAgent`` lives in :mod:`cascadeflow.cascade_agent`. Python binds a package's attribute to a submodule once
the submodule is imported, so after ``import cascadeflow.agent`` the name ``cascadeflow.agent`` is this module, not
the decorator: the module is therefore made callable, forwarding to :func:`cascadeflow.harness.api.agent`, so
``@cascadeflow.agent(budget=...)`` decorates whichever of the two the name refers to.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

from cascadeflow.cascade_agent import CascadeAgent


class _CallableModule(types.ModuleType):
    def __call__(self, **policies: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        from cascadeflow.harness.api import agent

        return agent(**policies)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["CascadeAgent"]
