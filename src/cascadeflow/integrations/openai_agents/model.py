"""``CascadeModel``: the OpenAI Agents SDK's ``Model`` interface, answered by a :class:`CascadeAgent`.

    agent = Agent(name="assistant", instructions="...", tools=[get_weather], model=CascadeModel(cascade))
    result = await Runner.run(agent, "Weather in Paris?")

Tool calls, handoffs (they are function tools to the model) and structured outputs (JSON mode plus the
schema in the prompt) go through the cascade; streaming is buffered per tier, because the SDK cannot take
back text of a draft the cascade later rejects. Each call leaves a ``generation`` span naming the tier that
answered and a ``cascadeflow.cascade`` span with every step's decision in the SDK's trace, and reports its
model, tokens and cost to the run's governor (see :mod:`cascadeflow.integrations.governance`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

from agents import Handoff, Model, ModelProvider, ModelResponse, ModelSettings, ModelTracing, Tool
from agents.agent_output import AgentOutputSchemaBase
from agents.items import TResponseInputItem, TResponseStreamEvent
from agents.models.chatcmpl_stream_handler import ChatCmplStreamHandler
from agents.tracing import custom_span, generation_span
from agents.tracing.span_data import GenerationSpanData
from agents.tracing.spans import Span
from openai import AsyncStream
from openai.types.chat import ChatCompletionChunk
from openai.types.responses.response_prompt_param import ResponsePromptParam

from cascadeflow.agent import CascadeAgent
from cascadeflow.cascade.result import CascadeResult
from cascadeflow.errors import ConfigError
from cascadeflow.integrations._decisions import decision_metadata, decision_record
from cascadeflow.integrations.governance import RunGovernor, resolve_governor
from cascadeflow.integrations.openai_agents.convert import (
    agents_usage,
    build_run_kwargs,
    closing_chunks,
    model_settings_for_trace,
    output_items,
    stream_response_shell,
    text_chunk,
)

CASCADE_SPAN_NAME = "cascadeflow.cascade"
"""Name of the custom span that carries a cascade's decisions in the SDK's traces."""


class CascadeModel(Model):
    """An Agents SDK model backed by a cascade. ``name`` is what traces call it until a tier has answered."""

    def __init__(self, agent: CascadeAgent, *, name: str = "cascadeflow", governor: RunGovernor | None = None) -> None:
        self.agent = agent
        self.name = name
        self.governor = governor

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> ModelResponse:
        messages, kwargs = build_run_kwargs(system_instructions, input, model_settings, tools, output_schema, handoffs)
        with generation_span(model=self.name, model_config=model_settings_for_trace(model_settings),
                             disabled=tracing.is_disabled()) as span:
            result = await self.agent.run(messages, **kwargs)
            self._after(result, span, tracing)
        return ModelResponse(output=output_items(result), usage=agents_usage(result), response_id=None)

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        messages, kwargs = build_run_kwargs(system_instructions, input, model_settings, tools, output_schema, handoffs)
        with generation_span(model=self.name, model_config=model_settings_for_trace(model_settings),
                             disabled=tracing.is_disabled()) as span:
            shell = stream_response_shell(self.name, model_settings)
            # The handler only iterates the stream; an async generator stands in for the openai AsyncStream.
            chunks = cast("AsyncStream[ChatCompletionChunk]", self._chunks(messages, kwargs, span, tracing))
            async for event in ChatCmplStreamHandler.handle_stream(shell, chunks, model=self.name):
                yield event

    async def _chunks(self, messages: list[Any], kwargs: dict[str, Any], span: Span[GenerationSpanData],
                      tracing: ModelTracing) -> AsyncIterator[ChatCompletionChunk]:
        from cascadeflow.cascade.streaming import FinalResult, TextDelta

        async for event in self.agent.stream(messages, buffered=True, **kwargs):
            if isinstance(event, TextDelta) and event.text:
                yield text_chunk(self.name, event.text)
            elif isinstance(event, FinalResult):
                self._after(event.result, span, tracing)
                for chunk in closing_chunks(event.result):
                    yield chunk

    def _after(self, result: CascadeResult, span: Span[GenerationSpanData], tracing: ModelTracing) -> None:
        """Trace the decision and report the call, once per cascade answer."""
        usage = result.usage
        span.span_data.model = result.model_used
        span.span_data.usage = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
        if tracing.include_data():
            span.span_data.output = [{"role": "assistant", "content": result.content,
                                      "tool_calls": [c.to_openai() for c in result.tool_calls]}]
        if not tracing.is_disabled():
            meta = decision_metadata(result)
            data = {k: v for k, v in meta.items() if k != "cascadeflow"} | {"decision": decision_record(result)}
            with custom_span(CASCADE_SPAN_NAME, data=data):
                pass
        governor = resolve_governor(self.governor)
        if governor is not None:
            governor.record_call(result.model_used, usage, result.cost, source="cascade")


class CascadeModelProvider(ModelProvider):
    """Serves a cascade for every model name (or only for ``names``), so a whole run uses it via
    ``RunConfig(model_provider=CascadeModelProvider(cascade))`` without touching each Agent."""

    def __init__(self, agent: CascadeAgent, *, names: frozenset[str] | None = None,
                 fallback: ModelProvider | None = None, governor: RunGovernor | None = None) -> None:
        self._model = CascadeModel(agent, governor=governor)
        self._names = names
        self._fallback = fallback

    def get_model(self, model_name: str | None) -> Model:
        if self._names is None or model_name in self._names:
            return self._model
        if self._fallback is None:
            raise ConfigError("model", f"CascadeModelProvider serves {sorted(self._names)} and has no fallback "
                                       f"provider for {model_name!r}")
        return self._fallback.get_model(model_name)
