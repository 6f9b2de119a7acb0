"""OpenAI Agents SDK: ``CascadeModel``, ``CascadeModelProvider``, run hooks, a tool-call guardrail and a tracing
processor (``pip install "cascadeflow[openai-agents]"``). Importing this module imports ``agents``."""

from __future__ import annotations

from cascadeflow.integrations.openai_agents.governance import (
    CascadeRunHooks,
    CascadeTracingProcessor,
    govern_tools,
    tool_call_guardrail,
)
from cascadeflow.integrations.openai_agents.model import CASCADE_SPAN_NAME, CascadeModel, CascadeModelProvider

__all__ = [
    "CASCADE_SPAN_NAME",
    "CascadeModel",
    "CascadeModelProvider",
    "CascadeRunHooks",
    "CascadeTracingProcessor",
    "govern_tools",
    "tool_call_guardrail",
]
