"""CrewAI: a crew whose agent thinks with a two-tier cascade.

    pip install "cascadeflow[crewai]"      # its own environment: crewai pins openai<3
    OPENAI_API_KEY=sk-... python examples/integrations/crewai_example.py
"""

from crewai import Agent, Crew, Task
from crewai.tools import tool

from cascadeflow import CascadeAgent, ModelConfig
from cascadeflow.integrations.crewai import CascadeCrewLLM


@tool("get_weather")
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny and 22 °C in {city}"


cascade = CascadeAgent(models=[
    ModelConfig(name="gpt-4o-mini", provider="openai", cost=0.000375),
    ModelConfig(name="gpt-4o", provider="openai", cost=0.00625),
])
llm = CascadeCrewLLM(cascade, max_tokens=80)
forecaster = Agent(role="Forecaster", goal="Report the weather in one sentence", backstory="You use tools.",
                   llm=llm, tools=[get_weather], max_iter=3, verbose=False)
task = Task(description="What is the weather in Paris?", expected_output="One sentence.", agent=forecaster)
print(Crew(agents=[forecaster], tasks=[task], verbose=False).kickoff())
decision = llm.decision or {}
print(f"model_used={decision.get('model_used')} draft_accepted={decision.get('draft_accepted')} "
      f"cost=${decision.get('cost', 0):.6f} tokens={llm.get_token_usage_summary().total_tokens}")
