"""The framework adapters against the real llama.cpp server (SmolLM2-135M) through a two-tier cascade.

SmolLM2 is tiny and calls no tools, so these assert mechanics: which tier answered and that the frameworks
carry it, real token counts, messages reaching the server. For tool round trips the cheap tier is a public
fake that asks for the tool (and then hedges), so the framework runs the tool and the real server answers
with the tool result in its context.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from cascadeflow import CascadeAgent, Completion, CompletionRequest, FunctionProvider, ModelConfig, ToolCall, Usage

pytestmark = pytest.mark.llama_server

MAX_TOKENS = 24
CHEAP, TOP = "gpt-4o-mini", "gpt-4o"
HEDGE = "I'm not sure, I don't know."


def llama_pair(url: str) -> CascadeAgent:
    return CascadeAgent(models=[
        ModelConfig(name=CHEAP, provider="llamacpp", base_url=url, cost=0.000375),
        ModelConfig(name=TOP, provider="llamacpp", base_url=url, cost=0.00625),
    ])


def tool_then_hedge(request: CompletionRequest) -> str | Completion:
    """Asks for get_weather once; once a tool result is in the conversation it hedges, so the server answers."""
    if any(m.role == "tool" for m in request.messages):
        return HEDGE
    call = ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}')
    return Completion(content="", model="scripted", finish_reason="tool_calls", usage=Usage(10, 5), tool_calls=(call,))


def scripted_then_llama(url: str) -> tuple[CascadeAgent, FunctionProvider]:
    cheap = FunctionProvider(tool_then_hedge, model=CHEAP)
    agent = CascadeAgent(models=[
        ModelConfig(name=CHEAP, provider="fake", cost=0.000375),
        ModelConfig(name=TOP, provider="llamacpp", base_url=url, cost=0.00625),
    ], providers={CHEAP: cheap})
    return agent, cheap


def needs(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")


def test_langchain_invoke_and_bind_tools_through_a_real_two_tier_cascade(llama_server_url: str) -> None:
    needs("langchain_core")
    from langchain_core.messages import AIMessage

    from cascadeflow.integrations.langchain import CascadeChatModel

    llm = CascadeChatModel(agent=llama_pair(llama_server_url), max_tokens=MAX_TOKENS, temperature=0.0)
    message = llm.invoke("What color is the sky?")
    assert isinstance(message, AIMessage) and str(message.content).strip()
    meta = message.response_metadata
    assert meta["model_used"] in (CHEAP, TOP)
    assert meta["model_used"] == (CHEAP if meta["draft_accepted"] else TOP)
    assert message.usage_metadata is not None and message.usage_metadata["input_tokens"] > 0

    weather = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
                                                 "parameters": {"type": "object",
                                                                "properties": {"city": {"type": "string"}}}}}
    tooled = llm.bind_tools([weather]).invoke("What is the weather in Paris?")
    assert isinstance(tooled, AIMessage)
    assert tooled.response_metadata["model_used"] in (CHEAP, TOP)
    assert tooled.response_metadata["models_called"][0] == CHEAP


@pytest.fixture
def no_sdk_trace_export() -> Iterator[None]:
    """The SDK's default processor would try to export traces to OpenAI."""
    needs("agents")
    from agents.tracing import set_trace_processors

    set_trace_processors([])
    yield


async def test_agents_sdk_runner_tool_round_trip_reaches_the_server(
    llama_server_url: str, no_sdk_trace_export: None
) -> None:
    from agents import Agent, ModelSettings, Runner, function_tool

    from cascadeflow.integrations.openai_agents import CascadeModel

    ran: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        ran.append(city)
        return f"Sunny in {city}"

    cascade, cheap = scripted_then_llama(llama_server_url)
    assistant = Agent(name="assistant", instructions="Answer briefly.", tools=[get_weather],
                      model=CascadeModel(cascade), model_settings=ModelSettings(max_tokens=MAX_TOKENS, temperature=0.0))
    result = await Runner.run(assistant, "What is the weather in Paris?")
    assert ran == ["Paris"]
    assert isinstance(result.final_output, str) and result.final_output.strip()
    assert [m.role for m in cheap.calls[1].messages] == ["system", "user", "assistant", "tool"]
    assert result.context_wrapper.usage.requests == 3  # the tool call, then the hedge and the server's answer
    await cascade.aclose()


async def test_pydantic_ai_tool_round_trip_reaches_the_server(llama_server_url: str) -> None:
    needs("pydantic_ai")
    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelResponse

    from cascadeflow.integrations.pydantic_ai import CascadePydanticModel

    cascade, _ = scripted_then_llama(llama_server_url)
    agent: Agent[None, str] = Agent(CascadePydanticModel(cascade), model_settings={"max_tokens": MAX_TOKENS})
    ran: list[str] = []

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        ran.append(city)
        return f"Sunny in {city}"

    result = await agent.run("What is the weather in Paris?")
    assert ran == ["Paris"] and result.output.strip()
    last = [m for m in result.all_messages() if isinstance(m, ModelResponse)][-1]
    assert last.model_name == TOP and (last.provider_details or {})["models_called"] == [CHEAP, TOP]
    await cascade.aclose()


async def test_autogen_tool_round_trip_reaches_the_server(llama_server_url: str) -> None:
    needs("autogen_agentchat")
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.messages import TextMessage

    from cascadeflow.integrations.autogen import CascadeChatCompletionClient

    ran: list[str] = []

    async def get_weather(city: str) -> str:
        """Current weather for a city."""
        ran.append(city)
        return f"Sunny in {city}"

    cascade, _ = scripted_then_llama(llama_server_url)
    client = CascadeChatCompletionClient(cascade)
    agent = AssistantAgent("assistant", model_client=client, tools=[get_weather], reflect_on_tool_use=True,
                           model_client_stream=False)
    result = await agent.run(task="What is the weather in Paris?")
    assert ran == ["Paris"]
    assert client.last_result is not None and client.last_result.model_used == TOP
    final = result.messages[-1]
    assert isinstance(final, TextMessage) and final.content.strip()
    await client.close()
