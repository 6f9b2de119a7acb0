"""CrewAI: ``CascadeCrewLLM``, an LLM CrewAI accepts (its ``BaseLLM`` interface) backed by a :class:`CascadeAgent`.

    researcher = Agent(role="Researcher", goal="...", backstory="...", llm=CascadeCrewLLM(agent=cascade),
                       tools=[search])
    Crew(agents=[researcher], tasks=[...]).kickoff()

It speaks CrewAI's native function calling: tool schemas go to the cascade; a tool call comes back as
OpenAI-style dicts for CrewAI's executor to run, or is run here when CrewAI passes ``available_functions``
(as its own providers do). Token usage feeds ``get_token_usage_summary()`` and CrewAI's LLM events;
the last cascade decision is on ``last_result``.

CrewAI pins ``openai<3`` while the OpenAI Agents SDK needs ``openai>=3``, so ``cascadeflow[crewai]`` cannot share
an environment with ``cascadeflow[openai-agents]``; the project tests it in its own virtualenv.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from crewai import BaseLLM
from crewai.events.types.llm_events import LLMCallType
from crewai.llms.base_llm import llm_call_context
from pydantic import BaseModel, ConfigDict, PrivateAttr

from cascadeflow.agent import CascadeAgent
from cascadeflow.cascade.result import CascadeResult
from cascadeflow.integrations._decisions import (
    DEFAULT_CONTEXT_WINDOW_TOKENS,
    decision_metadata,
    parse_tool_arguments,
)
from cascadeflow.integrations._sync import LoopThread
from cascadeflow.types import normalize_messages


def _openai_tools(tools: Sequence[Mapping[str, Any]] | None) -> list[Mapping[str, Any]] | None:
    """CrewAI hands tools as OpenAI function schemas (``{"type": "function", "function": {...}}``) or bare."""
    if not tools:
        return None
    return [t if "function" in t else {"type": "function", "function": t} for t in tools]


def _tool_call_dicts(result: CascadeResult) -> list[dict[str, Any]]:
    return [{"id": c.id or f"call_{i}", "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for i, c in enumerate(result.tool_calls)]


class CascadeCrewLLM(BaseLLM):
    """A CrewAI LLM whose every call goes through a cascade (sync ``call`` and async ``acall``)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    agent: CascadeAgent
    model: str = "cascadeflow"
    llm_type: str = "cascadeflow"
    provider: str = "cascadeflow"
    last_result: CascadeResult | None = None

    _sync: LoopThread = PrivateAttr(default_factory=LoopThread)

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._sync.close_with(self)  # the private loop's thread ends with this object

    def __init__(self, agent: CascadeAgent, **kwargs: Any) -> None:
        fields: dict[str, Any] = {"model": "cascadeflow", **kwargs, "agent": agent}  # CrewAI validates model first
        super().__init__(**fields)

    def supports_function_calling(self) -> bool:
        return True

    def supports_stop_words(self) -> bool:
        return True

    def get_context_window_size(self) -> int:
        return DEFAULT_CONTEXT_WINDOW_TOKENS

    def _run_kwargs(self, tools: Sequence[Mapping[str, Any]] | None, response_model: type[BaseModel] | None
                    ) -> dict[str, Any]:
        max_tokens = int(self.max_tokens) if self.max_tokens is not None else None
        return {"max_tokens": max_tokens, "temperature": self.temperature, "stop": self.stop or None,
                "tools": _openai_tools(tools), "response_format": "json" if response_model else None}

    async def _arun(self, messages: Any, tools: Any, response_model: type[BaseModel] | None) -> CascadeResult:
        formatted = self._format_messages(messages)
        if response_model is not None:
            schema = json.dumps(response_model.model_json_schema())
            formatted = [{"role": "system", "content": f"Answer with one JSON object matching this schema:\n{schema}"},
                         *formatted]
        return await self.agent.run(list(normalize_messages(formatted)), **self._run_kwargs(tools, response_model))

    def call(self, messages: Any, tools: Any = None, callbacks: Any = None, available_functions: Any = None,
             from_task: Any = None, from_agent: Any = None, response_model: Any = None) -> Any:
        with llm_call_context():  # CrewAI ties a call's started/completed events together by this context
            self._started(messages, tools, callbacks, available_functions, from_task, from_agent)
            try:
                result = self._sync.run(self._arun(messages, tools, response_model))
            except Exception as exc:
                self._emit_call_failed_event(error=str(exc), from_task=from_task, from_agent=from_agent)
                raise
            return self._answer(result, messages, available_functions, response_model, from_task, from_agent)

    async def acall(self, messages: Any, tools: Any = None, callbacks: Any = None, available_functions: Any = None,
                    from_task: Any = None, from_agent: Any = None, response_model: Any = None) -> Any:
        with llm_call_context():
            self._started(messages, tools, callbacks, available_functions, from_task, from_agent)
            try:
                result = await self._arun(messages, tools, response_model)
            except Exception as exc:
                self._emit_call_failed_event(error=str(exc), from_task=from_task, from_agent=from_agent)
                raise
            return self._answer(result, messages, available_functions, response_model, from_task, from_agent)

    def _started(self, messages: Any, tools: Any, callbacks: Any, available_functions: Any, from_task: Any,
                 from_agent: Any) -> None:
        self._emit_call_started_event(messages=messages, tools=tools, callbacks=callbacks,
                                      available_functions=available_functions, from_task=from_task,
                                      from_agent=from_agent)

    def _answer(self, result: CascadeResult, messages: Any, available_functions: Mapping[str, Any] | None,
                response_model: type[BaseModel] | None, from_task: Any, from_agent: Any) -> Any:
        """What CrewAI expects back: tool calls (or their result), a validated model, or text."""
        self.last_result = result
        usage = result.usage
        usage_dict = {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
                      "total_tokens": usage.total_tokens, "successful_requests": 1}
        self._track_token_usage_internal(usage_dict)
        common = {"from_task": from_task, "from_agent": from_agent, "messages": messages, "usage": usage_dict,
                  "finish_reason": result.finish_reason}
        if result.tool_calls and not available_functions:
            calls = _tool_call_dicts(result)
            self._emit_call_completed_event(response=calls, call_type=LLMCallType.TOOL_CALL, **common)
            return calls
        if result.tool_calls and available_functions:
            first = result.tool_calls[0]
            args, _ = parse_tool_arguments(first)  # unparsable arguments: {} and the tool reports, as CrewAI's own
            output = self._handle_tool_execution(function_name=first.name, function_args=args or {},
                                                 available_functions=dict(available_functions),
                                                 from_task=from_task, from_agent=from_agent)
            if output is not None:
                return output
        if response_model is not None:
            parsed = response_model.model_validate_json(result.content)
            self._emit_call_completed_event(response=parsed, call_type=LLMCallType.LLM_CALL, **common)
            return parsed
        text = self._apply_stop_words(result.content)
        self._emit_call_completed_event(response=text, call_type=LLMCallType.LLM_CALL, **common)
        return text

    @property
    def decision(self) -> dict[str, Any] | None:
        """The last call's decision metadata (model_used, draft_accepted, cost, reason, steps)."""
        return None if self.last_result is None else decision_metadata(self.last_result)
