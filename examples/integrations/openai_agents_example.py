"""OpenAI Agents SDK: an Agent whose model is a two-tier cascade, with a function tool.

    pip install "cascadeflow[openai-agents]"
    OPENAI_API_KEY=sk-... python examples/integrations/openai_agents_example.py
"""

from agents import Agent, ModelSettings, Runner, function_tool
from agents.tracing import set_trace_processors

from cascadeflow import CascadeAgent, ModelConfig
from cascadeflow.integrations.openai_agents import CascadeModel, CascadeRunHooks, CascadeTracingProcessor


@function_tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny and 22 °C in {city}"


cascade = CascadeAgent(models=[
    ModelConfig(name="gpt-4o-mini", provider="openai", cost=0.000375),
    ModelConfig(name="gpt-4o", provider="openai", cost=0.00625),
])
# Every cascade decision lands in the SDK's traces as a "cascadeflow.cascade" span; this processor collects them.
# (set_trace_processors keeps traces local; use add_trace_processor to send them to OpenAI as well.)
decisions = CascadeTracingProcessor()
set_trace_processors([decisions])

assistant = Agent(name="assistant", instructions="Answer briefly. Use tools for weather questions.",
                  tools=[get_weather], model=CascadeModel(cascade),
                  model_settings=ModelSettings(max_tokens=60))
result = Runner.run_sync(assistant, "What is the weather in Paris?", hooks=CascadeRunHooks())
print(result.final_output)
for decision in decisions.decisions:
    print(f"model_used={decision['model_used']} draft_accepted={decision['draft_accepted']} "
          f"cost=${decision['cost']:.6f} steps={decision['models_called']}")
