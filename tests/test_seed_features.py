"""Items of issue 11 that fakes can show: domain= alias, the google preset, the plan's YAML with domain rules,
tools skipping tiers without tool support, trivial queries keeping the cheap draft unless a check vetoes,
run(options=...)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cascadeflow import CascadeAgent, FunctionProvider, ModelConfig
from cascadeflow.errors import ConfigError
from cascadeflow.providers.registry import default_registry
from cascadeflow.types import CompletionRequest

GOOD = "Quicksort picks a pivot, partitions the array around it, and sorts both sides recursively."


def fakes(*names: str, answer: str = GOOD) -> dict[str, FunctionProvider]:
    def reply(request: CompletionRequest) -> str:
        return answer

    return {n: FunctionProvider(reply, model=n) for n in names}


def test_domain_alias_and_general_tiers_serve_every_domain() -> None:
    config = ModelConfig(name="codellama-70b", provider="groq", domain="code", cost=0.0008)
    assert config.domains == ("code",) and config.domain is None
    assert ModelConfig(name="m", domains=["Code"], domain="math").domains == ("code", "math")
    assert ModelConfig.from_dict({"name": "m", "domain": "medical"}).domains == ("medical",)
    with pytest.raises(ConfigError, match=r"ModelConfig\.domain"):
        ModelConfig(name="m", domain="")


async def test_the_plans_method_1_routes_code_to_the_code_model() -> None:
    agent = CascadeAgent(
        models=[
            ModelConfig(name="codellama-70b", provider="groq", domain="code", cost=0.0008),
            ModelConfig(name="gpt-3.5-turbo", provider="openai", domain="code", cost=0.002),
            ModelConfig(name="med-palm-2", provider="google", domain="medical", cost=0.025),
            ModelConfig(name="gpt-4", provider="openai", domain="general", cost=0.03),
        ],
        enable_domain_routing=True,
        providers=fakes("codellama-70b", "gpt-3.5-turbo", "med-palm-2", "gpt-4"), env_file=None,
    )
    result = await agent.run("How do I implement quicksort?")
    assert result.domain == "code" and result.model_used == "codellama-70b"


def test_google_preset_reads_either_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = default_registry()
    preset = registry.get("google")
    assert preset.base_url == "https://generativelanguage.googleapis.com/v1beta/openai"
    assert preset.key_envs == ("GOOGLE_API_KEY", "GEMINI_API_KEY")
    for name in preset.key_envs:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="GOOGLE_API_KEY or GEMINI_API_KEY"):
        registry.build(ModelConfig(name="gemini-2.0-flash", provider="google"))
    monkeypatch.setenv("GEMINI_API_KEY", "g-key")
    provider = registry.build(ModelConfig(name="gemini-2.0-flash", provider="google"))
    assert provider.provider == "google"


PLAN_YAML = """
models:
  - name: codellama-70b
    provider: groq
    cost: 0.0008
    domains: [code]

  - name: gpt-4
    provider: openai
    cost: 0.03
    domains: [general, code, medical]

routing:
  enable_domain_routing: true

  domain_rules:
    code:
      simple: [gpt-3.5-turbo]
      medium: [codellama-70b, gpt-3.5-turbo]
      high: [gpt-4]
"""


@pytest.mark.parametrize(("query", "complexity", "tried"), [
    ("Write a function to print hello world in Python", "simple", ["gpt-3.5-turbo"]),
    ("How do I implement quicksort and why is it fast?", "moderate", ["codellama-70b"]),
    ("Implement a lock-free concurrent hash map in Rust and prove it is linearizable, rigorously", "expert",
     ["gpt-4"]),
])
async def test_the_plans_yaml_maps_domain_rules_onto_the_plan(tmp_path: Path, query: str, complexity: str,
                                                              tried: list[str]) -> None:
    path = tmp_path / "cascadeflow.yaml"
    path.write_text(PLAN_YAML)
    agent = CascadeAgent.from_config(path, providers=fakes("codellama-70b", "gpt-4", "gpt-3.5-turbo"),
                                     env_file=None)
    assert {m.name: m.provider for m in agent.models} == {"codellama-70b": "groq", "gpt-3.5-turbo": "openai",
                                                          "gpt-4": "openai"}
    result = await agent.run(query)
    assert result.domain == "code" and result.complexity == complexity
    assert [s.model for s in result.steps] == tried


@pytest.mark.parametrize(("routing", "field"), [
    ({"enable_domain_routing": "yes"}, "routing.enable_domain_routing"),
    ({"domain_rule": {}}, "routing.domain_rule"),
    ({"domain_rules": {"code": {"hard-ish": ["gpt-4"]}}}, "routing.domain_rules['code']['hard-ish']"),
    ({"domain_rules": {"code": {"high": []}}}, "routing.domain_rules['code']['high']"),
])
def test_bad_routing_blocks_name_the_field(tmp_path: Path, routing: dict[str, object], field: str) -> None:
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"models": [{"name": "gpt-4", "cost": 0.03}], "routing": routing}))
    with pytest.raises(ConfigError) as info:
        CascadeAgent.from_config(path)
    assert info.value.field == field


TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


async def test_a_request_with_tools_skips_tiers_that_cannot_use_them() -> None:
    seen: list[str] = []

    def answer(name: str) -> FunctionProvider:
        def reply(request: CompletionRequest) -> str:
            seen.append(name)
            return "It is sunny in Paris today, about 22 degrees and a light breeze."
        return FunctionProvider(reply, model=name)

    agent = CascadeAgent(models=[ModelConfig(name="no-tools", cost=0.0001, supports_tools=False),
                                 ModelConfig(name="tools", cost=0.01)],
                         providers={"no-tools": answer("no-tools"), "tools": answer("tools")}, env_file=None)
    result = await agent.run("What is the weather in Paris?", tools=[TOOL])
    assert seen == ["tools"] and "Skipped no-tools: the request has tools" in result.reason
    await agent.run("What is the weather in Paris?")
    assert seen == ["tools", "no-tools"]  # without tools the cheap tier answers
    only = CascadeAgent(models=[ModelConfig(name="no-tools", cost=0.0001, supports_tools=False)],
                        providers={"no-tools": answer("no-tools")}, env_file=None)
    with pytest.raises(ConfigError, match="tools"):
        await only.run("hi", tools=[TOOL])


async def test_trivial_queries_keep_the_cheap_draft_unless_a_check_vetoes() -> None:
    terse = "Blue, mostly."  # short: the completeness/relevance checks doubt it, nothing vetoes it
    agent = CascadeAgent(models=[ModelConfig(name="small", cost=0.0001), ModelConfig(name="large", cost=0.01)],
                         providers={**fakes("small", answer=terse), **fakes("large")}, env_file=None)
    result = await agent.run("What color is the sky?")
    assert result.complexity == "trivial" and result.model_used == "small" and result.draft_accepted
    strict = CascadeAgent(models=agent.models, providers={**fakes("small", answer=terse), **fakes("large")},
                          trivial_veto_only=False, env_file=None)
    judged = await strict.run("What color is the sky?")
    refused = CascadeAgent(models=agent.models, env_file=None,
                           providers={**fakes("small", answer="I'm sorry, but I can't help with that."),
                                      **fakes("large")})
    vetoed = await refused.run("What color is the sky?")
    assert vetoed.model_used == "large"  # a refusal is a veto even for a trivial query
    assert judged.steps[0].verdict is not None and result.steps[0].verdict is not None
    assert judged.steps[0].verdict.threshold == 0.7 and result.steps[0].verdict.threshold == 0.3


async def test_run_options_mapping() -> None:
    seen: list[CompletionRequest] = []

    def small(request: CompletionRequest) -> str:
        seen.append(request)
        return "ok"

    agent = CascadeAgent(models=[ModelConfig(name="small", cost=0.0001)],
                         providers={"small": FunctionProvider(small, model="small")}, env_file=None)
    await agent.run("test", options={"max_tokens": 5, "temperature": 0.0})
    assert seen[0].max_tokens == 5 and seen[0].temperature == 0.0
    await agent.run("test", max_tokens=5, options={"max_tokens": 5})  # the same value twice is fine
    with pytest.raises(ConfigError, match=r"options\['max_tokens'\]"):
        await agent.run("test", max_tokens=7, options={"max_tokens": 5})
    with pytest.raises(ConfigError, match=r"options\['top_k'\]"):
        await agent.run("test", options={"top_k": 5})
