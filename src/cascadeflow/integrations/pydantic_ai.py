"""pydantic-ai: ``CascadePydanticModel``, a ``pydantic_ai.models.Model`` answered by a :class:`CascadeAgent`.

    agent = Agent(CascadePydanticModel(cascade), tools=[get_weather])
    result = await agent.run("Weather in Paris?")
    result.all_messages()[-1].model_name          # the tier that answered
    result.all_messages()[-1].provider_details     # model_used, draft_accepted, cost, reason, every step

Tools and output tools (pydantic-ai's default structured output) are passed as function tools; when text is not
an allowed answer the cascade is asked to call a tool. Streams are buffered per tier (a rejected draft's text
is never shown). ``pip install "cascadeflow[pydantic-ai]"``; importing this module imports ``pydantic_ai``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    ModelResponsePart,
    ModelResponseStreamEvent,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models import Model, ModelRequestParameters, StreamedResponse
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import RunContext, ToolDefinition
from pydantic_ai.usage import RequestUsage

from cascadeflow.agent import CascadeAgent
from cascadeflow.cascade.result import CascadeResult
from cascadeflow.errors import ConfigError
from cascadeflow.integrations._decisions import decision_metadata
from cascadeflow.types import Message, ToolCall, ToolSpec

PROVIDER_NAME = "cascadeflow"
_FINISH: Mapping[str, Literal["stop", "length", "content_filter", "tool_call"]] = MappingProxyType({
    "stop": "stop", "length": "length", "content_filter": "content_filter", "tool_calls": "tool_call",
})


def _request_messages(message: ModelRequest, index: int) -> list[Message]:
    out: list[Message] = []
    for part in message.parts:
        if isinstance(part, SystemPromptPart):
            out.append(Message(role="system", content=part.content))
        elif isinstance(part, UserPromptPart):
            if not isinstance(part.content, str) and not all(isinstance(c, str) for c in part.content):
                raise ConfigError(f"messages[{index}].content", "only text user content is supported")
            text = part.content if isinstance(part.content, str) else "".join(str(c) for c in part.content)
            out.append(Message(role="user", content=text))
        elif isinstance(part, ToolReturnPart):
            out.append(Message(role="tool", content=part.model_response_str(), tool_call_id=part.tool_call_id))
        else:  # settings deltas and other bookkeeping parts carry nothing a chat model reads
            continue
    return out


def _response_message(message: ModelResponse) -> Message:
    text = "".join(p.content for p in message.parts if isinstance(p, TextPart))
    calls = tuple(ToolCall(id=p.tool_call_id, name=p.tool_name, arguments=p.args_as_json_str())
                  for p in message.parts if isinstance(p, ToolCallPart))
    return Message(role="assistant", content=text or (None if calls else ""), tool_calls=calls)


def to_cascade_messages(messages: Sequence[ModelMessage], instructions: Sequence[str]) -> list[Message]:
    """pydantic-ai's history as chat messages; instructions lead as system messages."""
    out = [Message(role="system", content=text) for text in instructions]
    for i, message in enumerate(messages):
        if isinstance(message, ModelRequest):
            out.extend(_request_messages(message, i))
        else:
            out.append(_response_message(message))
    return out


def _call_id() -> str:
    """pydantic-ai pairs tool returns with calls by id; some servers (llama.cpp) send none."""
    return f"call_{uuid.uuid4().hex[:24]}"


def _tool_spec(tool: ToolDefinition) -> ToolSpec:
    return ToolSpec(name=tool.name, description=tool.description or "", parameters=tool.parameters_json_schema)


def _run_kwargs(settings: ModelSettings | None, params: ModelRequestParameters) -> dict[str, Any]:
    tools = [_tool_spec(t) for t in [*params.function_tools, *params.output_tools]]
    json_output = params.output_mode == "native" and params.output_object is not None
    settings = settings or {}
    return {
        "max_tokens": settings.get("max_tokens"),
        "temperature": settings.get("temperature"),
        "stop": settings.get("stop_sequences"),
        "tools": tools or None,
        "tool_choice": "required" if tools and not params.allow_text_output else None,
        "response_format": "json" if json_output else None,
    }


def response_parts(result: CascadeResult) -> list[ModelResponsePart]:
    parts: list[ModelResponsePart] = [TextPart(content=result.content)] if result.content else []
    parts += [ToolCallPart(tool_name=c.name, args=c.arguments or "{}", tool_call_id=c.id or _call_id())
              for c in result.tool_calls]
    return parts


def _usage(result: CascadeResult) -> RequestUsage:
    usage = result.usage
    return RequestUsage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens)


class CascadePydanticModel(Model):
    """A pydantic-ai model whose requests go through a cascade."""

    def __init__(self, agent: CascadeAgent, *, name: str = "cascadeflow", settings: ModelSettings | None = None
                 ) -> None:
        super().__init__(settings=settings)
        self.agent = agent
        self._name = name

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def system(self) -> str:
        return PROVIDER_NAME

    def _prepare(self, messages: list[ModelMessage], settings: ModelSettings | None,
                 params: ModelRequestParameters) -> tuple[list[Message], dict[str, Any]]:
        settings, params = self.prepare_request(settings, params)
        instructions = [part.content for part in self._get_instruction_parts(messages, params) or []]
        if params.output_mode == "native" and params.output_object is not None:
            schema = json.dumps(params.output_object.json_schema)
            instructions.append(f"Answer with one JSON value matching this JSON schema, and nothing else:\n{schema}")
        return to_cascade_messages(messages, instructions), _run_kwargs(settings, params)

    async def request(self, messages: list[ModelMessage], model_settings: ModelSettings | None,
                      model_request_parameters: ModelRequestParameters) -> ModelResponse:
        chat, kwargs = self._prepare(messages, model_settings, model_request_parameters)
        result = await self.agent.run(chat, **kwargs)
        return ModelResponse(parts=response_parts(result), usage=_usage(result), model_name=result.model_used,
                             provider_name=PROVIDER_NAME, provider_details=decision_metadata(result),
                             finish_reason=_FINISH.get(result.finish_reason))

    @asynccontextmanager
    async def request_stream(self, messages: list[ModelMessage], model_settings: ModelSettings | None,
                             model_request_parameters: ModelRequestParameters,
                             run_context: RunContext[Any] | None = None) -> AsyncIterator[StreamedResponse]:
        chat, kwargs = self._prepare(messages, model_settings, model_request_parameters)
        events = self.agent.stream(chat, buffered=True, **kwargs)
        try:
            yield CascadeStreamedResponse(model_request_parameters=model_request_parameters, _events=events,
                                          _name=self._name)
        finally:
            await events.aclose()  # type: ignore[attr-defined]  # an async generator


@dataclass
class CascadeStreamedResponse(StreamedResponse):
    """The cascade's buffered stream as pydantic-ai events: accepted text, then tool calls and usage."""

    _events: AsyncIterator[Any]
    _name: str = "cascadeflow"
    _timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))

    async def _get_event_iterator(self) -> AsyncIterator[ModelResponseStreamEvent]:
        from cascadeflow.cascade.streaming import FinalResult, TextDelta

        async for event in self._events:
            if isinstance(event, TextDelta) and event.text:
                for item in self._parts_manager.handle_text_delta(vendor_part_id="content", content=event.text):
                    yield item
            elif isinstance(event, FinalResult):
                result: CascadeResult = event.result
                for i, call in enumerate(result.tool_calls):
                    yield self._parts_manager.handle_tool_call_part(
                        vendor_part_id=i, tool_name=call.name, args=call.arguments or "{}",
                        tool_call_id=call.id or _call_id())
                self._usage = _usage(result)
                self._name = result.model_used
                self.provider_details = decision_metadata(result)
                self.finish_reason = _FINISH.get(result.finish_reason)

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def provider_name(self) -> str:
        return PROVIDER_NAME

    @property
    def provider_url(self) -> None:
        return None

    @property
    def timestamp(self) -> datetime:
        return self._timestamp


__all__ = ["CascadePydanticModel", "CascadeStreamedResponse", "to_cascade_messages"]
