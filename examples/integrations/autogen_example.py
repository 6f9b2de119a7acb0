"""AutoGen (autogen-agentchat 0.7): an AssistantAgent whose model client is a two-tier cascade.

    pip install "cascadeflow[autogen]"
    OPENAI_API_KEY=sk-... python examples/integrations/autogen_example.py
"""

import asyncio

from autogen_agentchat.agents import AssistantAgent

from cascadeflow import CascadeAgent, CascadeResult, ModelConfig
from cascadeflow.integrations.autogen import CascadeChatCompletionClient


async def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny and 22 °C in {city}"


def report(result: CascadeResult) -> None:
    print(f"model_used={result.model_used} draft_accepted={result.draft_accepted} cost=${result.total_cost:.6f}")


async def main() -> None:
    cascade = CascadeAgent(models=[
        ModelConfig(name="gpt-4o-mini", provider="openai", cost=0.000375),
        ModelConfig(name="gpt-4o", provider="openai", cost=0.00625),
    ])
    client = CascadeChatCompletionClient(cascade, max_tokens=60, on_result=report)
    agent = AssistantAgent("assistant", model_client=client, tools=[get_weather], reflect_on_tool_use=True,
                           system_message="Answer briefly. Use tools for weather questions.")
    result = await agent.run(task="What is the weather in Paris?")
    print(result.messages[-1].to_text())
    await client.close()


asyncio.run(main())
