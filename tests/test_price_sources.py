"""Catalogue prices from more than genai-prices: LiteLLM's price map as an optional, ordered source."""

from __future__ import annotations

import importlib.util
import os
from decimal import Decimal
from types import SimpleNamespace

import pytest

from cascadeflow import CascadeAgent, ConfigError, ModelConfig, ScriptedProvider, UnknownModelError
from cascadeflow.price_cache import CatalogueRate
from cascadeflow.price_sources import LiteLLMPrices, PriceSources, build_price_sources

# A model LiteLLM prices and genai-prices does not (checked against both catalogues as installed).
BEDROCK_ONLY = "ai21.jamba-1-5-mini-v1:0"


def litellm_standin(costs: dict[str, dict[str, float]]) -> SimpleNamespace:
    return SimpleNamespace(model_cost=costs)


def test_litellm_per_token_prices_become_usd_per_million_provider_key_first() -> None:
    source = LiteLLMPrices(litellm_standin({
        "groq/llama-3": {"input_cost_per_token": 5e-08, "output_cost_per_token": 8e-08},
        "llama-3": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
    }))
    assert source.lookup("llama-3", "groq") == CatalogueRate(Decimal("0.05"), Decimal("0.08"), source="litellm")
    assert source.lookup("llama-3", "other") == CatalogueRate(Decimal(1), Decimal(1), source="litellm")
    assert source.lookup("unknown", "groq") is None


def test_an_entry_without_token_prices_is_unknown_not_free() -> None:
    source = LiteLLMPrices(litellm_standin({"img": {"output_cost_per_image": 0.04}}))
    assert source.lookup("img", "openai") is None


def test_sources_are_asked_in_order() -> None:
    first = LiteLLMPrices(litellm_standin({"m": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}}))
    second = LiteLLMPrices(litellm_standin({"m": {"input_cost_per_token": 9e-06, "output_cost_per_token": 9e-06},
                                            "n": {"input_cost_per_token": 3e-06, "output_cost_per_token": 3e-06}}))
    chain = PriceSources([first, second])
    assert chain.lookup("m", "p") == CatalogueRate(Decimal(1), Decimal(2), source="litellm")
    assert chain.lookup("n", "p") == CatalogueRate(Decimal(3), Decimal(3), source="litellm")


def test_unknown_source_names_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"price_sources\[1\]"):
        build_price_sources(["genai-prices", "nope"])
    with pytest.raises(ConfigError, match="at least one"):
        build_price_sources([])


@pytest.mark.skipif(importlib.util.find_spec("litellm") is None, reason="the litellm extra is not installed")
def test_the_real_litellm_map_prices_a_model_genai_prices_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LITELLM_LOCAL_MODEL_COST_MAP", raising=False)
    config = ModelConfig(name=BEDROCK_ONLY, provider="bedrock")
    fake = {BEDROCK_ONLY: ScriptedProvider([], model=BEDROCK_ONLY)}
    with pytest.raises(UnknownModelError):
        CascadeAgent(models=[config], providers=fake)  # genai-prices alone
    agent = CascadeAgent(models=[config], providers=fake, price_sources=("genai-prices", "litellm"))
    price = agent.engine.tiers[0].price
    assert price.source == "litellm"
    assert (price.input_per_1m, price.output_per_1m) == (Decimal("0.2"), Decimal("0.4"))
    assert "LITELLM_LOCAL_MODEL_COST_MAP" not in os.environ  # set only while litellm imported (shipped map)


def test_genai_prices_still_answers_first_for_models_it_knows() -> None:
    agent = CascadeAgent(models=[ModelConfig(name="gpt-4o-mini", provider="openai")],
                         providers={"gpt-4o-mini": ScriptedProvider([], model="gpt-4o-mini")},
                         price_sources=("genai-prices", LiteLLMPrices(litellm_standin({}))))
    assert agent.engine.tiers[0].price.source == "genai-prices"
