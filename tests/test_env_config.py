"""Configuration from environment variables: parsing, merging domain tiers, and errors naming the variable."""

from __future__ import annotations

import pytest

from cascadeflow import CascadeAgent, FunctionProvider, ModelConfig, QualityConfig
from cascadeflow.env_config import agent_kwargs_from_env, models_from_env, parse_model_spec
from cascadeflow.errors import ConfigError


def test_models_list_keeps_order_provider_and_name() -> None:
    models = models_from_env({"CASCADEFLOW_MODELS": "openai:gpt-4o-mini, anthropic:claude-3-5-haiku-latest"})
    assert [(m.provider, m.name, m.cost, m.domains) for m in models] == [
        ("openai", "gpt-4o-mini", None, ()),
        ("anthropic", "claude-3-5-haiku-latest", None, ()),
    ]


def test_cost_suffix_and_colons_in_model_names() -> None:
    assert parse_model_spec("openai:gpt-4o-mini@0.00015", variable="V") == ("openai", "gpt-4o-mini", 0.00015)
    assert parse_model_spec(" ollama:llama3.1:8b ", variable="V") == ("ollama", "llama3.1:8b", None)
    assert parse_model_spec("ollama:qwen2.5:7b@0", variable="V") == ("ollama", "qwen2.5:7b", 0.0)


def test_domain_variables_add_tiers_and_merge_with_known_ones() -> None:
    models = models_from_env(
        {
            "CASCADEFLOW_MODELS": "openai:gpt-4o-mini,openai:gpt-4o",
            "CASCADEFLOW_CODE_MODELS": "openai:gpt-4o,ollama:qwen2.5-coder:7b@0",
            "CASCADEFLOW_MATH_MODELS": "ollama:qwen2.5-coder:7b",
            "UNRELATED_MODELS": "x:y",
        }
    )
    by_name = {m.name: m for m in models}
    assert [m.name for m in models] == ["gpt-4o-mini", "gpt-4o", "qwen2.5-coder:7b"]
    assert by_name["gpt-4o-mini"].domains == ()
    assert by_name["gpt-4o"].domains == ("code",)
    assert by_name["qwen2.5-coder:7b"].domains == ("code", "math")
    assert by_name["qwen2.5-coder:7b"].cost == 0.0


def test_domain_models_alone_are_enough() -> None:
    models = models_from_env({"CASCADEFLOW_MEDICAL_MODELS": "openai:gpt-4o@0.005"})
    assert [(m.name, m.domains, m.cost) for m in models] == [("gpt-4o", ("medical",), 0.005)]


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({}, "CASCADEFLOW_MODELS"),
        ({"CASCADEFLOW_MODELS": " , "}, "CASCADEFLOW_MODELS"),
        ({"CASCADEFLOW_MODELS": "openai:gpt-4o,:x"}, "CASCADEFLOW_MODELS"),
        ({"CASCADEFLOW_MODELS": "openai:"}, "CASCADEFLOW_MODELS"),
        ({"CASCADEFLOW_MODELS": "openai:gpt-4o@cheap"}, "CASCADEFLOW_MODELS"),
        ({"CASCADEFLOW_MODELS": "openai:gpt-4o@-1"}, "CASCADEFLOW_MODELS"),
        ({"CASCADEFLOW_MODELS": "openai:a", "CASCADEFLOW_CODEX_MODELS": "openai:b"}, "CASCADEFLOW_CODEX_MODELS"),
        ({"CASCADEFLOW_MODELS": "openai:a@0.1", "CASCADEFLOW_CODE_MODELS": "openai:a@0.2"}, "CASCADEFLOW_CODE_MODELS"),
        ({"CASCADEFLOW_MODELS": "openai:a", "CASCADEFLOW_LEGAL_MODELS": "groq:a"}, "CASCADEFLOW_LEGAL_MODELS"),
    ],
)
def test_bad_model_variables_name_the_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        models_from_env(environ)
    assert info.value.field == variable


def test_only_the_options_that_are_set_are_returned() -> None:
    kwargs = agent_kwargs_from_env({"CASCADEFLOW_MODELS": "openai:gpt-4o-mini"})
    assert set(kwargs) == {"models"}


def test_all_options() -> None:
    kwargs = agent_kwargs_from_env(
        {
            "CASCADEFLOW_MODELS": "openai:gpt-4o-mini,openai:gpt-4o",
            "CASCADEFLOW_QUALITY_THRESHOLD": "0.8",
            "CASCADEFLOW_KPI_WEIGHTS": "quality=5, cost=3, latency=2",
            "CASCADEFLOW_ENABLE_DOMAIN_ROUTING": "yes",
        }
    )
    assert isinstance(kwargs["quality_config"], QualityConfig)
    assert set(kwargs["quality_config"].confidence_thresholds.values()) == {0.8}
    assert kwargs["kpi_weights"] == pytest.approx({"quality": 0.5, "cost": 0.3, "latency": 0.2})
    assert kwargs["enable_domain_routing"] is True
    off = agent_kwargs_from_env({"CASCADEFLOW_MODELS": "openai:a@0.001", "CASCADEFLOW_ENABLE_DOMAIN_ROUTING": "0"})
    assert off["enable_domain_routing"] is False


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("CASCADEFLOW_QUALITY_THRESHOLD", "high", "CASCADEFLOW_QUALITY_THRESHOLD"),
        ("CASCADEFLOW_QUALITY_THRESHOLD", "1.5", "CASCADEFLOW_QUALITY_THRESHOLD"),
        ("CASCADEFLOW_KPI_WEIGHTS", "quality:0.5", "CASCADEFLOW_KPI_WEIGHTS"),
        ("CASCADEFLOW_KPI_WEIGHTS", "quality=0.5,speed=0.5", "CASCADEFLOW_KPI_WEIGHTS['speed']"),
        ("CASCADEFLOW_KPI_WEIGHTS", "quality=lots", "CASCADEFLOW_KPI_WEIGHTS['quality']"),
        ("CASCADEFLOW_KPI_WEIGHTS", "quality=-1", "CASCADEFLOW_KPI_WEIGHTS['quality']"),
        ("CASCADEFLOW_KPI_WEIGHTS", "quality=0,cost=0", "CASCADEFLOW_KPI_WEIGHTS"),
        ("CASCADEFLOW_KPI_WEIGHTS", "cost=1,cost=2", "CASCADEFLOW_KPI_WEIGHTS"),
        ("CASCADEFLOW_ENABLE_DOMAIN_ROUTING", "maybe", "CASCADEFLOW_ENABLE_DOMAIN_ROUTING"),
    ],
)
def test_bad_options_name_the_variable(name: str, value: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        agent_kwargs_from_env({"CASCADEFLOW_MODELS": "openai:gpt-4o-mini", name: value})
    assert info.value.field == field


def test_kwargs_build_a_working_agent() -> None:
    kwargs = agent_kwargs_from_env(
        {"CASCADEFLOW_MODELS": "fake:small@0.0001,fake:large@0.01", "CASCADEFLOW_QUALITY_THRESHOLD": "0.65"}
    )
    fakes = {m.name: FunctionProvider(lambda r: "answer", model=m.name) for m in kwargs["models"]}
    agent = CascadeAgent(providers=fakes, **kwargs)
    assert [m.name for m in agent.models] == ["small", "large"]
    assert all(isinstance(m, ModelConfig) for m in agent.models)
    assert agent.quality_config.threshold_for("moderate") == 0.65


def test_bare_names_get_the_default_provider_and_turn_domain_routing_on() -> None:
    environ = {"CASCADEFLOW_CODE_MODELS": "codellama-70b@0.0008,gpt-3.5-turbo",
               "CASCADEFLOW_GENERAL_MODELS": "gpt-3.5-turbo,gpt-4"}
    kwargs = agent_kwargs_from_env(environ)
    assert [(m.provider, m.name, m.domains) for m in kwargs["models"]] == [
        ("openai", "codellama-70b", ("code",)), ("openai", "gpt-3.5-turbo", ("code", "general")),
        ("openai", "gpt-4", ("general",))]
    assert kwargs["enable_domain_routing"] is True
    off = agent_kwargs_from_env({**environ, "CASCADEFLOW_ENABLE_DOMAIN_ROUTING": "0"})
    assert off["enable_domain_routing"] is False
    # CASCADEFLOW_DEFAULT_PROVIDER picks the provider of bare names
    models = models_from_env({"CASCADEFLOW_MODELS": "qwen2.5-coder", "CASCADEFLOW_DEFAULT_PROVIDER": "ollama"})
    assert [(m.provider, m.name) for m in models] == [("ollama", "qwen2.5-coder")]


def test_a_bare_name_without_a_known_price_names_the_variable_and_the_fix() -> None:
    with pytest.raises(ConfigError) as info:
        CascadeAgent.from_env({"CASCADEFLOW_CODE_MODELS": "codellama-70b,gpt-3.5-turbo"})
    assert info.value.field == "CASCADEFLOW_CODE_MODELS" and "codellama-70b@<USD per 1K tokens>" in str(info.value)
