"""AutoGen (autogen-agentchat / autogen-core 0.7): ``CascadeChatCompletionClient``, a ``ChatCompletionClient``
answered by a :class:`CascadeAgent`.

    client = CascadeChatCompletionClient(cascade)
    agent = AssistantAgent("assistant", model_client=client, tools=[get_weather])
    await agent.run(task="Weather in Paris?")
    client.last_result.model_used                  # the tier that answered the last call

AutoGen's ``CreateResult`` has no metadata field, so each call's decision is kept on the client
(``last_result``) and handed to ``on_result``. Streams are buffered per tier. ``pip install
"cascadeflow[autogen]"``; importing this module imports ``autogen_core``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any, Literal

from autogen_core import CancellationToken, FunctionCall
from autogen_core.models import (
    AssistantMessage,
    ChatCompletionClient,
    CreateResult,
    FinishReasons,
    FunctionExecutionResultMessage,
    LLMMessage,
    ModelCapabilities,
    ModelFamily,
    ModelInfo,
    RequestUsage,
    SystemMessage,
    UserMessage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from cascadeflow.agent import CascadeAgent
from cascadeflow.cascade.result import CascadeResult
from cascadeflow.errors import ConfigError
from cascadeflow.integrations._decisions import DEFAULT_CONTEXT_WINDOW_TOKENS, tool_choice_for_openai
from cascadeflow.types import Message, ToolCall

CHARS_PER_TOKEN = 4
"""``count_tokens`` is an estimate (cascadeflow has no tokenizer for every tier): ~4 characters per token."""
_FINISH: Mapping[str, FinishReasons] = MappingProxyType({
    "stop": "stop", "length": "length", "tool_calls": "function_calls", "content_filter": "content_filter",
})


def _to_message(message: LLMMessage, index: int) -> list[Message]:
    if isinstance(message, SystemMessage):
        return [Message(role="system", content=message.content)]
    if isinstance(message, UserMessage):
        if not isinstance(message.content, str) and not all(isinstance(p, str) for p in message.content):
            raise ConfigError(f"messages[{index}].content", "only text user content is supported (no images)")
        text = message.content if isinstance(message.content, str) else "".join(map(str, message.content))
        return [Message(role="user", content=text, name=message.source or None)]
    if isinstance(message, AssistantMessage):
        if isinstance(message.content, str):
            return [Message(role="assistant", content=message.content)]
        calls = tuple(ToolCall(id=c.id, name=c.name, arguments=c.arguments) for c in message.content)
        return [Message(role="assistant", content=message.thought, tool_calls=calls)]
    if isinstance(message, FunctionExecutionResultMessage):
        return [Message(role="tool", content=r.content, tool_call_id=r.call_id) for r in message.content]
    raise ConfigError(f"messages[{index}]", f"unsupported AutoGen message type {type(message).__name__}")


def to_cascade_messages(messages: Sequence[LLMMessage]) -> list[Message]:
    return [m for i, message in enumerate(messages) for m in _to_message(message, i)]


def _schema(tool: Tool | ToolSchema) -> Mapping[str, Any]:
    schema: Mapping[str, Any] = tool.schema if isinstance(tool, Tool) else tool
    return {"type": "function", "function": {k: v for k, v in schema.items() if k != "strict"}}


def _run_kwargs(tools: Sequence[Tool | ToolSchema], tool_choice: Tool | str,
                json_output: bool | type[BaseModel] | None, extra: Mapping[str, Any]) -> dict[str, Any]:
    specs = [_schema(t) for t in tools]
    names = [s["function"]["name"] for s in specs]
    choice = tool_choice.name if isinstance(tool_choice, Tool) else tool_choice
    return {
        "tools": specs or None,
        "tool_choice": tool_choice_for_openai(choice, names) if specs else None,
        "response_format": "json" if json_output else None,
        **extra,
    }


def _schema_instruction(json_output: bool | type[BaseModel] | None) -> list[Message]:
    if isinstance(json_output, type) and issubclass(json_output, BaseModel):
        schema = json.dumps(json_output.model_json_schema())
        return [Message(role="system", content=f"Answer with one JSON object matching this JSON schema:\n{schema}")]
    return []


class CascadeChatCompletionClient(ChatCompletionClient):
    """An AutoGen model client whose every call goes through a cascade."""

    def __init__(
        self,
        agent: CascadeAgent,
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        context_window: int = DEFAULT_CONTEXT_WINDOW_TOKENS,
        on_result: Callable[[CascadeResult], object] | None = None,
    ) -> None:
        self.agent = agent
        self._defaults: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature}
        self.context_window = context_window
        self.on_result = on_result
        self.last_result: CascadeResult | None = None
        self._last_usage = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self._total = RequestUsage(prompt_tokens=0, completion_tokens=0)

    def _messages(self, messages: Sequence[LLMMessage], json_output: bool | type[BaseModel] | None) -> list[Message]:
        converted = to_cascade_messages(messages)
        extra = _schema_instruction(json_output)
        leading = next((i for i, m in enumerate(converted) if m.role != "system"), len(converted))
        return converted[:leading] + extra + converted[leading:]

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = (),
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},  # the interface's own default; never mutated
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        kwargs = _run_kwargs(tools, tool_choice, json_output, {**self._defaults, **extra_create_args})
        task = asyncio.ensure_future(self.agent.run(self._messages(messages, json_output), **kwargs))
        if cancellation_token is not None:
            cancellation_token.link_future(task)  # AutoGen's cancel reaches the cascade's in-flight call
        return self._finish(await task)

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = (),
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
        include_usage: bool | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        from cascadeflow.cascade.streaming import FinalResult, TextDelta

        kwargs = _run_kwargs(tools, tool_choice, json_output, {**self._defaults, **extra_create_args})
        async for event in self.agent.stream(self._messages(messages, json_output), buffered=True, **kwargs):
            if isinstance(event, TextDelta) and event.text and not event.draft:
                yield event.text
            elif isinstance(event, FinalResult):
                yield self._finish(event.result)

    def _finish(self, result: CascadeResult) -> CreateResult:
        self.last_result = result
        usage = result.usage
        self._last_usage = RequestUsage(prompt_tokens=usage.input_tokens, completion_tokens=usage.output_tokens)
        self._total = RequestUsage(prompt_tokens=self._total.prompt_tokens + usage.input_tokens,
                                   completion_tokens=self._total.completion_tokens + usage.output_tokens)
        if self.on_result is not None:
            self.on_result(result)
        content: str | list[FunctionCall] = result.content
        if result.tool_calls:
            content = [FunctionCall(id=c.id or f"call_{i}", name=c.name, arguments=c.arguments or "{}")
                       for i, c in enumerate(result.tool_calls)]
        finish: FinishReasons = "function_calls" if result.tool_calls else _FINISH.get(result.finish_reason, "unknown")
        return CreateResult(finish_reason=finish, content=content, usage=self._last_usage, cached=False,
                            thought=result.content if result.tool_calls and result.content else None)

    async def close(self) -> None:
        await self.agent.aclose()

    def actual_usage(self) -> RequestUsage:
        return replace(self._last_usage)

    def total_usage(self) -> RequestUsage:
        return replace(self._total)

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = ()) -> int:
        text = json.dumps([m.to_openai() for m in to_cascade_messages(messages)])
        text += json.dumps([_schema(t) for t in tools])
        return len(text) // CHARS_PER_TOKEN

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = ()) -> int:
        return self.context_window - self.count_tokens(messages, tools=tools)

    @property
    def capabilities(self) -> ModelCapabilities:  # deprecated in AutoGen, still abstract
        return ModelCapabilities(vision=False, function_calling=True, json_output=True)

    @property
    def model_info(self) -> ModelInfo:
        return ModelInfo(vision=False, function_calling=True, json_output=True, family=ModelFamily.UNKNOWN,
                         structured_output=False, multiple_system_messages=True)
