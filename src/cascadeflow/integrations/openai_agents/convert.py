"""The Agents SDK's Responses-format items ⇄ cascadeflow requests and answers.

The SDK ships the converters its own Chat Completions model uses (input items → chat messages, tools and
handoffs → function tools, a chat message → output items, a chunk stream → Responses stream events); reusing
them keeps handoffs, tool-call ids and reasoning items exactly as the SDK expects. cascadeflow speaks chat
messages in OpenAI's form, so only the last step (dicts → :class:`Message`) is ours.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from agents import Handoff, ModelSettings, Tool
from agents.agent_output import AgentOutputSchemaBase
from agents.items import TResponseInputItem, TResponseOutputItem
from agents.models.chatcmpl_converter import Converter
from agents.models.fake_id import FAKE_RESPONSES_ID
from agents.usage import Usage as AgentsUsage
from openai import Omit
from openai.types.chat import (
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageToolCallUnion,
)
from openai.types.chat.chat_completion_chunk import (
    Choice,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
)
from openai.types.chat.chat_completion_message_function_tool_call import Function
from openai.types.completion_usage import CompletionUsage
from openai.types.responses import Response

from cascadeflow.cascade.result import CascadeResult
from cascadeflow.types import Message, ToolCall, normalize_messages

SCHEMA_INSTRUCTION = "Answer with a single JSON value that matches this JSON schema, and nothing else:\n"
"""cascadeflow requests carry JSON mode, not a schema, so an agent's output schema is stated in the prompt."""


def build_run_kwargs(
    system_instructions: str | None,
    input: str | list[TResponseInputItem],
    model_settings: ModelSettings,
    tools: list[Tool],
    output_schema: AgentOutputSchemaBase | None,
    handoffs: list[Handoff[Any, Any]],
) -> tuple[list[Message], dict[str, Any]]:
    """Messages and ``agent.run`` keyword arguments for one model call of an SDK run."""
    raw: list[Any] = list(Converter.items_to_messages(input))
    if output_schema is not None and not output_schema.is_plain_text():
        schema = json.dumps(output_schema.json_schema())
        raw.insert(0, {"role": "system", "content": SCHEMA_INSTRUCTION + schema})
    if system_instructions:
        raw.insert(0, {"role": "system", "content": system_instructions})
    specs = [Converter.tool_to_openai(tool) for tool in tools]
    specs += [Converter.convert_handoff_tool(handoff) for handoff in handoffs]
    choice = Converter.convert_tool_choice(model_settings.tool_choice)
    kwargs: dict[str, Any] = {
        "max_tokens": model_settings.max_tokens,
        "temperature": model_settings.temperature,
        "tools": [dict(spec) for spec in specs] or None,
        "tool_choice": None if isinstance(choice, Omit) or not specs else choice,
        "response_format": "json" if output_schema is not None and not output_schema.is_plain_text() else None,
    }
    return list(normalize_messages(raw)), kwargs


def _call_id(call: ToolCall) -> str:
    """The SDK requires a non-empty call id per tool call; some servers (llama.cpp) may send none."""
    return call.id or f"call_{uuid.uuid4().hex[:24]}"


def output_items(result: CascadeResult) -> list[TResponseOutputItem]:
    """The cascade's answer as Responses output items (a message and/or function calls)."""
    calls: list[ChatCompletionMessageToolCallUnion] = [
        ChatCompletionMessageFunctionToolCall(id=_call_id(c), type="function",
                                              function=Function(name=c.name, arguments=c.arguments or "{}"))
        for c in result.tool_calls
    ]
    message = ChatCompletionMessage(role="assistant", content=result.content or None, tool_calls=calls or None)
    return Converter.message_to_output_items(message, provider_data={"model": result.model_used})


def agents_usage(result: CascadeResult) -> AgentsUsage:
    """Every tier's tokens and one request per tier actually called: what the run was billed for."""
    usage = result.usage
    requests = sum(1 for step in result.steps if step.action != "fallback") or 1
    return AgentsUsage(requests=requests, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                       total_tokens=usage.total_tokens)


def stream_response_shell(model: str, model_settings: ModelSettings) -> Response:
    """The empty ``Response`` the SDK's stream handler fills in, as its Chat Completions model builds it."""
    return Response(id=FAKE_RESPONSES_ID, created_at=time.time(), model=model, object="response", output=[],
                    tool_choice="auto", top_p=model_settings.top_p, temperature=model_settings.temperature,
                    tools=[], parallel_tool_calls=False)


def _chunk(model: str, delta: ChoiceDelta | None, finish: str | None = None,
           usage: CompletionUsage | None = None) -> ChatCompletionChunk:
    choices = [] if delta is None else [Choice(index=0, delta=delta, finish_reason=finish)]  # type: ignore[arg-type]
    return ChatCompletionChunk(id=FAKE_RESPONSES_ID, created=int(time.time()), model=model,
                               object="chat.completion.chunk", choices=choices, usage=usage)


def text_chunk(model: str, text: str) -> ChatCompletionChunk:
    return _chunk(model, ChoiceDelta(content=text))


def closing_chunks(result: CascadeResult) -> list[ChatCompletionChunk]:
    """Tool calls with the finish reason, then usage: how an OpenAI-compatible stream ends."""
    calls = [ChoiceDeltaToolCall(index=i, id=_call_id(c), type="function",
                                 function=ChoiceDeltaToolCallFunction(name=c.name, arguments=c.arguments or "{}"))
             for i, c in enumerate(result.tool_calls)]
    finish = "tool_calls" if calls else (result.finish_reason or "stop")
    usage = result.usage
    return [
        _chunk(result.model_used, ChoiceDelta(tool_calls=calls or None), finish),
        _chunk(result.model_used, None, usage=CompletionUsage(prompt_tokens=usage.input_tokens,
                                                              completion_tokens=usage.output_tokens,
                                                              total_tokens=usage.total_tokens)),
    ]


def model_settings_for_trace(model_settings: ModelSettings) -> Mapping[str, Any]:
    return {"temperature": model_settings.temperature, "max_tokens": model_settings.max_tokens}
