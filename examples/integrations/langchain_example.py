"""LangChain: a chat model whose every call goes through a two-tier cascade.

    pip install "cascadeflow[langchain]"
    OPENAI_API_KEY=sk-... python examples/integrations/langchain_example.py
    # or any OpenAI-compatible server: OPENAI_BASE_URL=http://127.0.0.1:8089/v1 OPENAI_API_KEY=dummy ...
"""

from langchain_core.messages import HumanMessage
from langchain_core.tools import tool

from cascadeflow import CascadeAgent, ModelConfig
from cascadeflow.integrations.langchain import CascadeChatModel


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny and 22 °C in {city}"


agent = CascadeAgent(models=[
    ModelConfig(name="gpt-4o-mini", provider="openai", cost=0.000375),  # USD per 1K tokens, blended
    ModelConfig(name="gpt-4o", provider="openai", cost=0.00625),
])
llm = CascadeChatModel(agent=agent, max_tokens=60)

answer = llm.invoke("What color is the sky on a clear day?")
meta = answer.response_metadata
print(answer.content)
print(f"model_used={meta['model_used']} draft_accepted={meta['draft_accepted']} cost=${meta['cost']:.6f}")
print(f"why: {meta['reason']}")

# Tools: bind them as with any LangChain model; the cascade decides which tier answers each turn.
with_tools = llm.bind_tools([get_weather])
question = HumanMessage("What is the weather in Paris?")
reply = with_tools.invoke([question])
if reply.tool_calls:  # the model asked for the tool: run it, send the result back
    results = [get_weather.invoke(call) for call in reply.tool_calls]
    reply = with_tools.invoke([question, reply, *results])
print(reply.content)
print(f"model_used={reply.response_metadata['model_used']} tokens={reply.usage_metadata}")

# Streams show only text the cascade accepted (a rejected draft never reaches the stream).
for chunk in llm.stream("Name three primary colors."):
    print(chunk.content, end="", flush=True)
print()
