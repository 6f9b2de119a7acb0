"""The rollout guide's code, as users copy it, against a real llama.cpp server (SmolLM2 under OpenAI names).

Stand-ins only where the guide leaves a name undefined: ``agent`` (a two-tier CascadeAgent on the server),
``query``, ``log_metric`` (collects what it is given) and ``llm`` (``llm.complete`` runs the agent).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

import cascadeflow
from cascadeflow import CascadeAgent, ModelConfig

pytestmark = pytest.mark.llama_server
query = "What color is the sky on a clear day? Answer in one word."
metrics: dict[str, float] = {}


def log_metric(name: str, value: float) -> None:
    metrics[name] = value


@pytest.fixture
async def agent(llama_server_url: str) -> AsyncIterator[CascadeAgent]:
    tiers = [ModelConfig(name="gpt-4o-mini", provider="openai", base_url=llama_server_url, api_key="x",
                         cost=0.000375, metadata={"region": "eu"}),
             ModelConfig(name="gpt-4o", provider="openai", base_url=llama_server_url, api_key="x", cost=0.00625)]
    built = CascadeAgent(models=tiers)
    yield built
    await built.aclose()


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    cascadeflow.reset()
    yield
    cascadeflow.reset()


async def test_stages_1_to_4_run_as_written(agent: CascadeAgent) -> None:
    # Stage 1
    cascadeflow.init(mode="observe")
    with cascadeflow.run() as session:
        await agent.run(query)
        summary = session.summary()

        log_metric("cascadeflow.cost", summary['cost_total'])
        log_metric("cascadeflow.steps", summary['steps'])
        log_metric("cascadeflow.latency", summary['latency_total_ms'])
    assert metrics["cascadeflow.steps"] >= 1 and metrics["cascadeflow.cost"] > 0

    # Stage 2
    cascadeflow.init(mode="observe")
    with cascadeflow.run(budget=0.50, compliance="gdpr") as session:
        await agent.run(query)
        violations = [r for r in session.trace() if r['action'] in ('stop', 'switch_model', 'deny_tool')]
        print(f"Would-be enforcement actions: {len(violations)}")
        for v in violations:
            print(f"  Step {v['step']}: {v['action']}{v['reason']}")
    assert violations == []  # no personal data in the query, and $0.50 is plenty

    # Stage 3
    cascadeflow.init(mode="enforce")
    with cascadeflow.run(budget=5.00) as session:
        await agent.run(query)

    # Stage 4
    with cascadeflow.run(budget=1.00, max_tool_calls=10) as session:
        await agent.run(query)
    with cascadeflow.run(budget=1.00, max_tool_calls=10, compliance="gdpr") as session:
        await agent.run(query)
    with cascadeflow.run(
        budget=1.00,
        max_tool_calls=10,
        compliance="gdpr",
        kpi_weights={"quality": 0.6, "cost": 0.3, "latency": 0.1},
    ) as session:
        await agent.run(query)
    assert session.summary()["steps"] >= 1


async def test_stage_5_per_agent_policies_and_the_environment_mode(agent: CascadeAgent,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    llm = SimpleNamespace(complete=lambda q: agent.run(q, max_tokens=16))
    monkeypatch.setenv("CASCADEFLOW_MODE", "enforce")
    cascadeflow.init(mode=os.getenv("CASCADEFLOW_MODE", "observe"))

    @cascadeflow.agent(budget=0.10, kpi_weights={"cost": 0.9, "quality": 0.1})
    async def triage_agent(query: str) -> Any:
        return await llm.complete(query)

    @cascadeflow.agent(budget=2.00, compliance="hipaa", kpi_weights={"quality": 0.9, "cost": 0.1})
    async def medical_agent(query: str) -> Any:
        return await llm.complete(query)

    assert (await triage_agent(query)).content
    assert (await medical_agent(query)).content
    stats = cascadeflow.stats()
    assert stats["runs"] == 2 and set(stats["cost_per_agent"]) == {
        "test_stage_5_per_agent_policies_and_the_environment_mode.<locals>.triage_agent",
        "test_stage_5_per_agent_policies_and_the_environment_mode.<locals>.medical_agent"}
