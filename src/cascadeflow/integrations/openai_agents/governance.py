"""A governed run's budget and tool-call cap, mapped onto an Agents SDK run; cascade decisions from its traces.

* :class:`CascadeRunHooks` — ``Runner.run(..., hooks=CascadeRunHooks())``: asks the governor before every model
  call of the run (any model); a :class:`~cascadeflow.BudgetExceededError` raised there propagates out of
  ``Runner.run`` and ends the run before the call is made. Calls of a :class:`CascadeModel` are reported by the
  model itself (it knows the exact cost); OpenAI models' calls are the harness's own instrumentation's job.
* :func:`tool_call_guardrail` / :func:`govern_tools` — a tool *input guardrail* that asks
  ``allow_tool_call`` before each function tool runs; a denied call is not run and the model is told so
  (the SDK's ``reject_content``), so the run continues within its cap.
* :class:`CascadeTracingProcessor` — collects the ``cascadeflow.cascade`` spans that :class:`CascadeModel`
  writes into the SDK's traces (one per cascade answer) and hands each decision to ``on_decision``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from agents import Agent, FunctionTool, RunContextWrapper, RunHooks
from agents.items import TResponseInputItem
from agents.tool_guardrails import (
    ToolGuardrailFunctionOutput,
    ToolInputGuardrail,
    ToolInputGuardrailData,
)
from agents.tracing import Span, Trace, TracingProcessor
from agents.tracing.span_data import CustomSpanData

from cascadeflow.integrations.governance import CallSource, RunGovernor, resolve_governor
from cascadeflow.integrations.openai_agents.model import CASCADE_SPAN_NAME, CascadeModel

DENIED_TOOL_MESSAGE = "Tool call {name!r} was denied by the run's policy (tool-call limit reached); do not retry it."


def _model_name(agent: Agent[Any]) -> str:
    model = agent.model
    if isinstance(model, str):
        return model
    if isinstance(model, CascadeModel):
        return model.name
    return str(getattr(model, "model", None) or type(model).__name__ if model is not None else "default")


def _source(agent: Agent[Any]) -> CallSource:
    """Tool calls of a CascadeModel answer were already seen by a harness that governs the CascadeAgent."""
    return "cascade" if isinstance(agent.model, CascadeModel) else "framework"


class CascadeRunHooks(RunHooks[Any]):
    """Run hooks that let the governor stop a run before any model call."""

    def __init__(self, governor: RunGovernor | None = None) -> None:
        self.governor = governor

    async def on_llm_start(self, context: RunContextWrapper[Any], agent: Agent[Any], system_prompt: str | None,
                           input_items: list[TResponseInputItem]) -> None:
        governor = resolve_governor(self.governor)
        if governor is not None:
            governor.before_call(_model_name(agent))


def tool_call_guardrail(governor: RunGovernor | None = None) -> ToolInputGuardrail[Any]:
    """A tool input guardrail: the governor's ``allow_tool_call`` decides whether the tool runs."""

    def cascadeflow_tool_cap(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        found = resolve_governor(governor)
        name = data.context.tool_name
        if found is None or found.allow_tool_call(name, source=_source(data.agent)):
            return ToolGuardrailFunctionOutput.allow()
        return ToolGuardrailFunctionOutput.reject_content(DENIED_TOOL_MESSAGE.format(name=name),
                                                          output_info={"action": "deny_tool", "tool": name})

    return ToolInputGuardrail(guardrail_function=cascadeflow_tool_cap, name="cascadeflow_tool_cap")


def govern_tools(agents: Iterable[Agent[Any]], governor: RunGovernor | None = None) -> None:
    """Put the tool-call guardrail on every function tool of ``agents`` (once per tool, idempotent)."""
    guardrail = tool_call_guardrail(governor)
    for agent in agents:
        for tool in agent.tools:
            if not isinstance(tool, FunctionTool):
                continue
            current = list(tool.tool_input_guardrails or [])
            if not any(g.get_name() == guardrail.get_name() for g in current):
                tool.tool_input_guardrails = [*current, guardrail]


class CascadeTracingProcessor(TracingProcessor):
    """Receives the SDK's spans; keeps (and forwards) the cascade decisions among them.

    ``add_trace_processor(CascadeTracingProcessor(on_decision=...))`` next to the SDK's exporter: each
    decision is the span's data (model_used, draft_accepted, cost, reason, every step) plus ``trace_id``.
    """

    def __init__(self, on_decision: Callable[[dict[str, Any]], object] | None = None) -> None:
        self.on_decision = on_decision
        self.decisions: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # the SDK may finish spans from several threads

    def on_span_end(self, span: Span[Any]) -> None:
        data = span.span_data
        if not isinstance(data, CustomSpanData) or data.name != CASCADE_SPAN_NAME:
            return
        decision = {**data.data, "trace_id": span.trace_id, "span_id": span.span_id}
        with self._lock:
            self.decisions.append(decision)
        if self.on_decision is not None:
            self.on_decision(decision)

    def on_trace_start(self, trace: Trace) -> None:
        return None

    def on_trace_end(self, trace: Trace) -> None:
        return None

    def on_span_start(self, span: Span[Any]) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self) -> None:
        return None
