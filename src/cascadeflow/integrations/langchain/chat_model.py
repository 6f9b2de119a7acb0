"""``CascadeChatModel``: a LangChain chat model whose every call goes through a :class:`CascadeAgent`.

    from cascadeflow.integrations.langchain import CascadeChatModel
    llm = CascadeChatModel(agent=CascadeAgent(models=[...]))
    llm.bind_tools([get_weather]).invoke("Weather in Paris?")   # AIMessage with tool_calls
    message.response_metadata["model_used"]                      # the tier that answered

It is a real ``BaseChatModel``, so ``invoke``/``ainvoke``/``stream``/``astream``/``batch``, chains, LangGraph
nodes, callbacks and ``with_structured_output`` (by tool calling, or ``method="json_mode"``) all work as they
do for any LangChain model. Streams are buffered per tier: text is emitted once the cascade has accepted it,
because LangChain cannot take back a draft the cascade later rejects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, PrivateAttr

from cascadeflow.agent import CascadeAgent
from cascadeflow.cascade.result import CascadeResult
from cascadeflow.integrations._decisions import tool_choice_for_openai
from cascadeflow.integrations._sync import LoopThread
from cascadeflow.integrations.langchain.messages import final_chunk, to_ai_message, to_cascade_messages

# kwargs LangChain itself adds to a call (tracing hints) that are not model parameters.
_LANGCHAIN_ONLY_KWARGS = frozenset({"ls_structured_output_format", "stream"})


class CascadeChatModel(BaseChatModel):
    """A LangChain chat model backed by a cascade: the cheapest tier that passes validation answers."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    agent: CascadeAgent
    """The cascade that answers every call."""
    max_tokens: int | None = None
    temperature: float | None = None
    stop: list[str] | None = None

    _sync: LoopThread = PrivateAttr(default_factory=LoopThread)

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._sync.close_with(self)  # the private loop's thread ends with this object

    @property
    def _llm_type(self) -> str:
        return "cascadeflow"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"models": [m.name for m in self.agent.models], "max_tokens": self.max_tokens,
                "temperature": self.temperature}

    def _run_kwargs(self, stop: list[str] | None, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """LangChain call kwargs (bound tools, tool_choice, response_format, overrides) as agent.run kwargs."""
        params = {k: v for k, v in kwargs.items() if k not in _LANGCHAIN_ONLY_KWARGS}
        tools = list(params.pop("tools", None) or ())
        names = [t["function"]["name"] for t in tools if isinstance(t, Mapping) and "function" in t]
        out: dict[str, Any] = {
            "max_tokens": params.pop("max_tokens", self.max_tokens),
            "temperature": params.pop("temperature", self.temperature),
            "stop": stop or params.pop("stop", None) or self.stop,
            "tools": tools or None,
            "tool_choice": tool_choice_for_openai(params.pop("tool_choice", None), names),
            "response_format": _response_format(params.pop("response_format", None)),
        }
        out.update(params)  # anything else is passed on, so an unknown argument fails loudly in build_request
        return out

    async def _arun(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: Mapping[str, Any]
                    ) -> CascadeResult:
        return await self.agent.run(to_cascade_messages(messages), **self._run_kwargs(stop, kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return _chat_result(await self._arun(messages, stop, kwargs))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return _chat_result(self._sync.run(self._arun(messages, stop, kwargs)))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in self._chunks(messages, stop, kwargs):
            if run_manager is not None and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._sync.iterate(self._chunks(messages, stop, kwargs)):
            if run_manager is not None and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _chunks(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: Mapping[str, Any]
                      ) -> AsyncIterator[ChatGenerationChunk]:
        from cascadeflow.cascade.streaming import FinalResult, TextDelta

        events = self.agent.stream(to_cascade_messages(messages), buffered=True, **self._run_kwargs(stop, kwargs))
        async for event in events:
            if isinstance(event, TextDelta) and event.text:
                yield ChatGenerationChunk(message=AIMessageChunk(content=event.text))
            elif isinstance(event, FinalResult):
                info = {"finish_reason": event.result.finish_reason}
                yield ChatGenerationChunk(message=final_chunk(event.result), generation_info=info)

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (any form LangChain converts: BaseTool, function, pydantic class, OpenAI dict)."""
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        if tool_choice is not None:
            names = [t["function"]["name"] for t in formatted]
            tool_choice_for_openai(tool_choice, names)  # reject a name that is not bound, now rather than later
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: Literal["function_calling", "json_mode"] = "function_calling",
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Structured answers by forced tool call (default) or by JSON mode (``method="json_mode"``; the
        prompt must ask for the JSON shape, as with any model's JSON mode)."""
        if method == "function_calling":
            return super().with_structured_output(schema, include_raw=include_raw, **kwargs)
        if method != "json_mode" or include_raw or kwargs:
            raise ValueError(f"unsupported structured-output options: method={method!r}, include_raw={include_raw}, "
                             f"{sorted(kwargs)}")
        parser: Runnable[Any, Any] = (
            PydanticOutputParser(pydantic_object=schema)
            if isinstance(schema, type) and issubclass(schema, BaseModel) else JsonOutputParser()
        )
        return self.bind(response_format="json") | parser


def _response_format(value: object) -> str | None:
    """``"json"`` or OpenAI's ``{"type": "json_object" | "json_schema", ...}`` (as bound for ChatOpenAI) → JSON mode."""
    if isinstance(value, Mapping):
        return "json" if value.get("type") in ("json_object", "json_schema") else None
    return None if value in (None, "text") else str(value)


def _chat_result(result: CascadeResult) -> ChatResult:
    message = to_ai_message(result)
    usage = message.usage_metadata
    return ChatResult(
        generations=[ChatGeneration(message=message, generation_info={"finish_reason": result.finish_reason})],
        llm_output={"model_name": result.model_used, "token_usage": dict(usage) if usage else {}},
    )
