"""The rollout guide's stages: observe, validate policies in observe mode, enforce one constraint, tighten,
per-agent policies — with one two-tier agent.

    python examples/rollout_stages.py
    # CASCADEFLOW_MODE picks the mode per environment (off / observe / enforce).
"""

from __future__ import annotations

import asyncio
import os

import cascadeflow
from cascadeflow import CascadeAgent, ModelConfig

agent = CascadeAgent(models=[
    ModelConfig(name="gpt-4o-mini", provider="openai", cost=0.000375, metadata={"region": "eu"}),
    ModelConfig(name="gpt-4o", provider="openai", cost=0.00625, metadata={"region": "eu"}),
])
QUERY = "What color is the sky on a clear day? Answer in one word."


@cascadeflow.agent(budget=0.10, kpi_weights={"cost": 0.9, "quality": 0.1})
async def triage_agent(query: str) -> str:
    return (await agent.run(query, max_tokens=30)).content


async def main() -> None:
    # Stage 1: observe real traffic (the mode can come from the environment).
    cascadeflow.init(mode=os.getenv("CASCADEFLOW_MODE", "observe"))
    with cascadeflow.run() as session:
        result = await agent.run(QUERY, max_tokens=30)
        summary = session.summary()
    print(f"observe: cost={summary['cost_total']} steps={summary['steps']} latency_ms={summary['latency_total_ms']}")
    print(f"model_used={result.model_used} draft_accepted={result.draft_accepted}")

    # Stage 2: what enforcement would have done, without doing it.
    with cascadeflow.run(budget=0.50, compliance="gdpr") as session:
        await agent.run(QUERY, max_tokens=30)
        violations = [r for r in session.trace() if r["action"] in ("stop", "switch_model", "deny_tool")]
    print(f"would-be enforcement actions: {len(violations)}")

    # Stages 3 and 4: enforce a generous budget, then tighten and add constraints.
    cascadeflow.init(mode="enforce")
    with cascadeflow.run(budget=5.00):
        await agent.run(QUERY, max_tokens=30)
    with cascadeflow.run(budget=1.00, max_tool_calls=10, compliance="gdpr",
                         kpi_weights={"quality": 0.6, "cost": 0.3, "latency": 0.1}) as session:
        await agent.run(QUERY, max_tokens=30)
        print(f"enforce: remaining {session.summary()['remaining']}")

    # Stage 5: per-agent policies.
    print(f"triage agent: {(await triage_agent(QUERY)).strip()[:60]!r}")
    print("stats:", cascadeflow.stats())
    await agent.aclose()


if __name__ == "__main__":
    asyncio.run(main())
