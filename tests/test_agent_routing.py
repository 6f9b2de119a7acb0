"""Domain routing, KPI weights and environment configuration, through the public agent."""

from __future__ import annotations

import pytest

from cascadeflow import CascadeAgent, ConfigError, ModelConfig, ScriptedProvider

CODE_ANSWER = "```python\ndef add(a, b):\n    return a + b\n```\nThis function returns the sum of a and b."


async def test_domain_routing_starts_at_the_code_specialist() -> None:
    fakes = {
        "general-small": ScriptedProvider([], model="general-small"),
        "coder": ScriptedProvider([CODE_ANSWER], model="coder"),
        "large": ScriptedProvider([], model="large"),
    }
    agent = CascadeAgent(
        models=[
            ModelConfig("general-small", provider="fake", cost=0.0001, domains=["creative"]),
            ModelConfig("coder", provider="fake", cost=0.001, domains=["code"]),
            ModelConfig("large", provider="fake", cost=0.01),
        ],
        providers=fakes,
        enable_domain_routing=True,
    )
    result = await agent.run("Write a Python function that adds two numbers and returns the sum.")
    assert result.domain == "code"
    assert result.model_used == "coder"
    assert fakes["general-small"].calls == []


def test_bad_kpi_weights_fail_at_construction() -> None:
    with pytest.raises(ConfigError, match="kpi_weights"):
        CascadeAgent(
            models=[ModelConfig("m", provider="fake", cost=0.1)],
            providers={"m": ScriptedProvider([])},
            kpi_weights={"speed": 1.0},
        )


def test_from_env_builds_the_tiers() -> None:
    env = {"CASCADEFLOW_MODELS": "fake:cheap@0.0001,fake:dear@0.01"}
    agent = CascadeAgent.from_env(env, providers={"cheap": ScriptedProvider([]), "dear": ScriptedProvider([])})
    assert [m.name for m in agent.models] == ["cheap", "dear"]
