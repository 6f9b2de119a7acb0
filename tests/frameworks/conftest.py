"""The crewai suite needs its own virtualenv (crewai pins openai<3; the Agents SDK needs openai>=3): it is
collected only where crewai is installed, and tests/frameworks/test_crewai_env.py runs it there."""

from __future__ import annotations

import importlib.util

collect_ignore = [] if importlib.util.find_spec("crewai") is not None else ["crewai_suite"]
