"""CascadeChatModel under real langchain-core: messages, tools, streams, structured output, budget stops."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import cast

import pytest
from tests.frameworks.helpers import (
    GOOD,
    HEDGE,
    LARGE,
    SMALL,
    WEATHER_TOOL,
    BudgetGovernor,
    require,
    tool_call,
    two_tier,
)

require("langchain_core")

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage  # noqa: E402
from langchain_core.messages.ai import add_ai_message_chunks  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from cascadeflow import BudgetExceededError, Completion, ConfigError  # noqa: E402
from cascadeflow.integrations.langchain import CascadeChatModel, CascadeflowCallbackHandler  # noqa: E402
from cascadeflow.types import Usage  # noqa: E402


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


def test_invoke_answers_through_the_cascade_with_decision_metadata() -> None:
    agent, cheap, dear = two_tier([HEDGE], [GOOD])
    message = CascadeChatModel(agent=agent).invoke("What color is the sky?")
    assert isinstance(message, AIMessage) and message.content == GOOD
    meta = message.response_metadata
    assert meta["model_used"] == meta["model_name"] == LARGE
    assert meta["draft_accepted"] is False and meta["cascaded"] is True  # the top tier answered as final
    assert meta["models_called"] == [SMALL, LARGE]
    assert meta["cost"] > 0 and Decimal(meta["cost_usd"]) > 0
    assert SMALL in meta["reason"] and LARGE in meta["reason"]
    assert [s["action"] for s in meta["cascadeflow"]["steps"]] == ["escalate", "final"]
    usage = message.usage_metadata
    assert usage is not None
    # both tiers' tokens: what was billed
    assert usage["output_tokens"] == len(HEDGE.split()) + len(GOOD.split())
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert len(cheap.calls) == len(dear.calls) == 1


async def test_ainvoke_keeps_roles_and_tool_messages() -> None:
    agent, cheap, _ = two_tier([GOOD], [])
    history = [
        SystemMessage("Be brief."),
        HumanMessage("Weather in Paris?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}]),
        ToolMessage("Sunny in Paris", tool_call_id="call_1"),
    ]
    message = await CascadeChatModel(agent=agent).ainvoke(history)
    assert message.response_metadata["model_used"] == SMALL
    sent = cheap.calls[0].messages
    assert [m.role for m in sent] == ["system", "user", "assistant", "tool"]
    assert sent[2].tool_calls[0].name == "get_weather"
    assert json.loads(sent[2].tool_calls[0].arguments) == {"city": "Paris"}
    assert sent[3].tool_call_id == "call_1" and sent[3].content == "Sunny in Paris"


def test_bind_tools_round_trip_through_the_cascade() -> None:
    agent, cheap, _ = two_tier([tool_call(), GOOD], [])
    llm = CascadeChatModel(agent=agent).bind_tools([get_weather], tool_choice="get_weather")
    first = llm.invoke("Weather in Paris?")
    assert isinstance(first, AIMessage)
    assert first.tool_calls == [{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1", "type": "tool_call"}]
    assert first.response_metadata["model_used"] == SMALL
    request = cheap.calls[0]
    assert [t.name for t in request.tools] == ["get_weather"]
    assert request.tool_choice == {"type": "function", "function": {"name": "get_weather"}}
    result = get_weather.invoke(first.tool_calls[0])
    final = llm.invoke([HumanMessage("Weather in Paris?"), first, result])
    assert final.content == GOOD
    assert cheap.calls[1].messages[-1].role == "tool"


def test_a_tool_call_with_broken_arguments_is_reported_not_dropped() -> None:
    broken = tool_call(arguments="{not json")
    agent, _, _ = two_tier([broken], [broken])  # the cheap tier's invalid call escalates; the top tier's is final
    message = CascadeChatModel(agent=agent).bind_tools([WEATHER_TOOL]).invoke("Weather?")
    assert isinstance(message, AIMessage)
    assert message.response_metadata["models_called"] == [SMALL, LARGE]
    assert message.tool_calls == []
    assert message.invalid_tool_calls[0]["name"] == "get_weather"


def test_binding_tool_choice_to_an_unknown_tool_is_a_config_error() -> None:
    agent, _, _ = two_tier([], [])
    with pytest.raises(ConfigError, match="tool_choice"):
        CascadeChatModel(agent=agent).bind_tools([get_weather], tool_choice="no_such_tool")


def test_stream_shows_only_accepted_text_and_ends_with_metadata() -> None:
    agent, _, _ = two_tier([HEDGE], [GOOD])
    chunks = list(CascadeChatModel(agent=agent).stream("What color is the sky?"))
    text = "".join(str(c.content) for c in chunks)
    assert text == GOOD  # the rejected draft never reaches LangChain
    merged = add_ai_message_chunks(*chunks)
    assert merged.response_metadata["model_used"] == LARGE
    assert merged.usage_metadata is not None and merged.usage_metadata["output_tokens"] > 0


async def test_astream_carries_tool_call_chunks() -> None:
    agent, _, _ = two_tier([tool_call()], [])
    llm = CascadeChatModel(agent=agent).bind_tools([get_weather])
    chunks = [c async for c in llm.astream("Weather in Paris?")]
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    merged = add_ai_message_chunks(*cast("list[AIMessageChunk]", chunks))
    assert [c["name"] for c in merged.tool_calls] == ["get_weather"]
    assert merged.tool_calls[0]["args"] == {"city": "Paris"}


def test_batch_runs_every_input() -> None:
    agent, _, _ = two_tier([GOOD, GOOD, GOOD], [])
    answers = CascadeChatModel(agent=agent).batch(["a?", "b?", "c?"])
    assert [a.content for a in answers] == [GOOD] * 3


class Weather(BaseModel):
    city: str


def test_structured_output_by_tool_calling() -> None:
    agent, cheap, _ = two_tier([tool_call(name="Weather", arguments='{"city": "Paris"}')], [])
    parsed = CascadeChatModel(agent=agent).with_structured_output(Weather).invoke("Where?")
    assert parsed == Weather(city="Paris")
    assert cheap.calls[0].tool_choice == "required"


def test_structured_output_by_json_mode() -> None:
    answer = Completion(content='{"city": "Rome"}', model=SMALL, usage=Usage(5, 4))
    agent, cheap, _ = two_tier([answer], [])
    parsed = CascadeChatModel(agent=agent).with_structured_output(Weather, method="json_mode").invoke("Where?")
    assert parsed == Weather(city="Rome")
    assert cheap.calls[0].response_format == "json"


def test_a_chain_with_a_prompt_template() -> None:
    agent, cheap, _ = two_tier([GOOD], [])
    chain = ChatPromptTemplate.from_messages([("system", "You are {who}."), ("human", "{q}")])
    message = (chain | CascadeChatModel(agent=agent, max_tokens=64)).invoke({"who": "terse", "q": "Sky?"})
    assert message.content == GOOD
    assert cheap.calls[0].messages[0].content == "You are terse."
    assert cheap.calls[0].max_tokens == 64


def test_callback_handler_reports_cascade_calls_with_their_exact_cost() -> None:
    agent, _, _ = two_tier([HEDGE], [GOOD])
    governor = BudgetGovernor()
    message = CascadeChatModel(agent=agent).invoke("Sky?", config={"callbacks": [CascadeflowCallbackHandler(governor)]})
    assert governor.started == ["cascadeflow"]
    [(model, usage, cost, source)] = governor.calls
    assert (model, source) == (LARGE, "cascade")
    assert cost == Decimal(message.response_metadata["cost_usd"])
    assert usage.output_tokens == message.usage_metadata["output_tokens"]  # type: ignore[index]


def test_budget_stop_really_stops_a_chain() -> None:
    """The second call of a two-step chain finds the budget spent: BudgetExceededError ends invoke()."""
    agent, cheap, dear = two_tier([HEDGE, GOOD], [GOOD])
    llm = CascadeChatModel(agent=agent)
    chain = llm | (lambda m: f"Rephrase: {m.content}") | llm
    governor = BudgetGovernor(budget=Decimal("0.0000001"))
    with pytest.raises(BudgetExceededError):
        chain.invoke("Sky?", config={"callbacks": [CascadeflowCallbackHandler(governor)]})
    assert len(cheap.calls) + len(dear.calls) == 2  # the first cascade ran (two tiers); the second never did
    assert governor.started == ["cascadeflow"]


async def test_budget_stop_really_stops_an_async_chain_before_the_call() -> None:
    agent, cheap, _ = two_tier([GOOD], [])
    governor = BudgetGovernor(budget=Decimal(0))
    with pytest.raises(BudgetExceededError):
        await CascadeChatModel(agent=agent).ainvoke(
            "Sky?", config={"callbacks": [CascadeflowCallbackHandler(governor)]}
        )
    assert cheap.calls == []


def test_handler_without_a_governor_or_active_run_does_nothing() -> None:
    agent, _, _ = two_tier([GOOD], [])
    message = CascadeChatModel(agent=agent).invoke("Sky?", config={"callbacks": [CascadeflowCallbackHandler()]})
    assert message.content == GOOD


def test_image_content_is_refused_with_the_message_index() -> None:
    agent, _, _ = two_tier([], [])
    image = HumanMessage(content=[{"type": "image_url", "image_url": {"url": "data:,"}}])
    with pytest.raises(ConfigError, match=r"messages\[1\]\.content"):
        CascadeChatModel(agent=agent).invoke([SystemMessage("x"), image])


def test_openai_style_response_format_binds_json_mode() -> None:
    answer = Completion(content='{"city": "Oslo"}', model=SMALL, usage=Usage(5, 4))
    agent, cheap, _ = two_tier([answer], [])
    CascadeChatModel(agent=agent).bind(response_format={"type": "json_object"}).invoke("Where?")
    assert cheap.calls[0].response_format == "json"


def test_a_dropped_model_takes_its_sync_loop_thread_with_it() -> None:
    import gc
    import threading

    def loop_threads() -> int:
        return sum(1 for t in threading.enumerate() if t.name == "cascadeflow-sync")

    agent, _, _ = two_tier([GOOD], [])
    llm = CascadeChatModel(agent=agent)
    llm.invoke("Sky?")
    running = loop_threads()
    del llm
    gc.collect()
    assert loop_threads() == running - 1
