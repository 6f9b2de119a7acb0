"""pydantic-ai: an Agent whose model is a two-tier cascade, with a tool.

    pip install "cascadeflow[pydantic-ai]"
    OPENAI_API_KEY=sk-... python examples/integrations/pydantic_ai_example.py
"""

from pydantic_ai import Agent
from pydantic_ai.messages import ModelResponse

from cascadeflow import CascadeAgent, ModelConfig
from cascadeflow.integrations.pydantic_ai import CascadePydanticModel

cascade = CascadeAgent(models=[
    ModelConfig(name="gpt-4o-mini", provider="openai", cost=0.000375),
    ModelConfig(name="gpt-4o", provider="openai", cost=0.00625),
])
agent: Agent[None, str] = Agent(CascadePydanticModel(cascade), instructions="Answer briefly.",
                                model_settings={"max_tokens": 60})


@agent.tool_plain
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny and 22 °C in {city}"


result = agent.run_sync("What is the weather in Paris?")
print(result.output)
for response in result.all_messages():
    if isinstance(response, ModelResponse):
        details = response.provider_details or {}
        print(f"model_used={response.model_name} draft_accepted={details.get('draft_accepted')} "
              f"cost=${details.get('cost', 0):.6f}")
