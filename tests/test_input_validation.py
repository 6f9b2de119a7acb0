"""Bad input at the public API is a ConfigError (a ValueError) naming the field and showing the bad value;
nothing is coerced silently. One table per surface: run/build_request/stream, ModelConfig, QualityConfig,
CascadeAgent."""

from __future__ import annotations

import math
from typing import Any

import pytest

from cascadeflow import CascadeAgent, ConfigError, FunctionProvider, ModelConfig, QualityConfig
from cascadeflow.config import MAX_RETRIES, MAX_TIMEOUT_S, CheckSettings
from cascadeflow.providers.openai_compatible import build_chat_body
from cascadeflow.providers.wrapper import unwrap
from cascadeflow.types import CompletionRequest

NAN, INF = math.nan, math.inf
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}


def agent(**kwargs: Any) -> CascadeAgent:
    models = [ModelConfig(name="small", provider="fake", cost=0.001), ModelConfig(name="large", provider="fake",
                                                                                     cost=0.01)]
    fakes = {m.name: FunctionProvider(lambda r: "Blue, because of Rayleigh scattering.", model=m.name) for m in models}
    return CascadeAgent(models=models, providers=fakes, **kwargs)


def assert_config_error(info: pytest.ExceptionInfo[ConfigError], field: str, shown: str | None) -> None:
    assert isinstance(info.value, ValueError)
    assert info.value.field == field, str(info.value)
    if shown is not None:
        assert shown in str(info.value), str(info.value)


# --------------------------------------------------------------------------- run / build_request / stream
REQUEST_CASES: list[tuple[Any, dict[str, Any], str, str | None]] = [
    (None, {}, "query", "None"),
    (123, {}, "query", "123"),
    (b"hi", {}, "query", "bytes"),
    ({"role": "user", "content": "hi"}, {}, "query", "list"),
    ("\ud800 what?", {}, "query", "lone surrogate"),
    ([{"role": "user", "content": "x\udcff"}], {}, "messages[0].content", "lone surrogate"),
    ([{"role": "user", "content": 5}], {}, "messages[0].content", "int"),
    ([{"role": "wizard", "content": "x"}], {}, "messages[0].role", "'wizard'"),
    ([{"role": "user", "content": "x", "name": 5}], {}, "messages[0].name", "5"),
    ([{"role": "assistant", "tool_calls": "call it"}], {}, "messages[0].tool_calls", "'call it'"),
    ([{"role": "assistant", "tool_calls": ["x"]}], {}, "messages[0].tool_calls[0]", "'x'"),
    ([{"role": "assistant", "tool_calls": [{"function": {}}]}], {}, "messages[0].tool_calls[0].function.name", None),
    ([{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": 5}}]}], {},
     "messages[0].tool_calls[0].function.arguments", "5"),
    ([], {}, "messages", None),
    ("hi", {"max_tokens": "10"}, "max_tokens", "'10'"),
    ("hi", {"max_tokens": NAN}, "max_tokens", "nan"),
    ("hi", {"max_tokens": INF}, "max_tokens", "inf"),
    ("hi", {"max_tokens": 1.5}, "max_tokens", "1.5"),
    ("hi", {"max_tokens": 0}, "max_tokens", "0"),
    ("hi", {"max_tokens": True}, "max_tokens", "True"),
    ("hi", {"temperature": "hot"}, "temperature", "'hot'"),
    ("hi", {"temperature": NAN}, "temperature", "nan"),
    ("hi", {"temperature": 3}, "temperature", "3"),
    ("hi", {"stop": 5}, "stop", "5"),
    ("hi", {"stop": ["END", 3]}, "stop[1]", "3"),
    ("hi", {"stop": [""]}, "stop[0]", "''"),
    ("hi", {"tools": ["str"]}, "tools[0]", "'str'"),
    ("hi", {"tools": "lookup"}, "tools", "'lookup'"),
    ("hi", {"tools": [{"function": {"name": "f", "parameters": 5}}]}, "tools[0].parameters", "5"),
    ("hi", {"tools": [TOOL], "tool_choice": 123}, "tool_choice", "123"),
    ("hi", {"tools": [TOOL], "tool_choice": "sometimes"}, "tool_choice", "'sometimes'"),
    ("hi", {"tools": [TOOL], "tool_choice": {"function": {"name": "nope"}}}, "tool_choice", "nope"),
    ("hi", {"tool_choice": "auto"}, "tool_choice", "without any tools"),
    ("hi", {"response_format": "xml"}, "response_format", "'xml'"),
    ("hi", {"logprobs": "yes"}, "logprobs", "'yes'"),
    ("hi", {"user_id": 5}, "user_id", "5"),
    ("hi", {"metadata": [1]}, "metadata", "list"),
    ("hi", {"deadline_s": 0}, "deadline_s", "0"),
    ("hi", {"deadline_s": INF}, "deadline_s", "inf"),
    ("hi", {"deadline_s": "10"}, "deadline_s", "'10'"),
]


@pytest.mark.parametrize(("query", "kwargs", "field", "shown"), REQUEST_CASES)
async def test_bad_run_arguments_name_the_field(query: Any, kwargs: dict[str, Any], field: str,
                                                shown: str | None) -> None:
    subject = agent()
    with pytest.raises(ConfigError) as info:
        subject.build_request(query, **kwargs)
    assert_config_error(info, field, shown)
    with pytest.raises(ConfigError):
        await subject.run(query, **kwargs)
    with pytest.raises(ConfigError):
        subject.stream(query, **kwargs)  # raised at the call, before any event


async def test_a_stop_string_is_one_stop_sequence_not_its_characters() -> None:
    subject = agent()
    request = subject.build_request("hi", stop="END")
    assert request.stop == ("END",)
    assert build_chat_body(request, "m")["stop"] == ["END"]
    result = await subject.run("What color is the sky?", stop="END")
    seen = unwrap(subject.engine.tiers[0].provider)
    assert isinstance(seen, FunctionProvider) and seen.calls[0].stop == ("END",) and result.content


def test_good_arguments_are_kept_as_given() -> None:
    request = agent().build_request(
        [{"role": "user", "content": "hi", "name": "ann"}], max_tokens=5, temperature=0, stop=["a", "b"],
        tools=[TOOL], tool_choice={"type": "function", "function": {"name": "lookup"}}, response_format="json",
        logprobs=True, user_id="u1",
    )
    assert isinstance(request, CompletionRequest)
    assert (request.max_tokens, request.temperature, request.stop, request.response_format) == (5, 0, ("a", "b"),
                                                                                                 "json")
    assert request.tools[0].name == "lookup" and request.metadata["user_id"] == "u1"


# --------------------------------------------------------------------------- ModelConfig
MODEL_CASES: list[tuple[dict[str, Any], str, str | None]] = [
    ({"name": 5}, "ModelConfig.name", "5"),
    ({"name": ""}, "ModelConfig.name", None),
    ({"name": "gpt\ud800"}, "ModelConfig.name", "lone surrogate"),
    ({"provider": None}, "ModelConfig.provider", "None"),
    ({"cost": INF}, "ModelConfig.cost", "inf"),
    ({"cost": NAN}, "ModelConfig.cost", "nan"),
    ({"cost": -1}, "ModelConfig.cost", "-1"),
    ({"cost": "0.1"}, "ModelConfig.cost", "'0.1'"),
    ({"input_price": 1.0}, "ModelConfig.input_price", None),
    ({"input_price": INF, "output_price": 1.0}, "ModelConfig.input_price", "inf"),
    ({"speed_ms": INF}, "ModelConfig.speed_ms", "inf"),
    ({"timeout_s": INF}, "ModelConfig.timeout_s", "inf"),
    ({"timeout_s": 0}, "ModelConfig.timeout_s", "0"),
    ({"timeout_s": MAX_TIMEOUT_S + 1}, "ModelConfig.timeout_s", "3601"),
    ({"timeout_s": "30"}, "ModelConfig.timeout_s", "'30'"),
    ({"connect_timeout_s": 0}, "ModelConfig.connect_timeout_s", "0"),
    ({"first_token_timeout_s": INF}, "ModelConfig.first_token_timeout_s", "inf"),
    ({"deadline_s": INF}, "ModelConfig.deadline_s", "inf"),
    ({"max_retries": 10**9}, "ModelConfig.max_retries", "1000000000"),
    ({"max_retries": MAX_RETRIES + 1}, "ModelConfig.max_retries", "11"),
    ({"max_retries": -1}, "ModelConfig.max_retries", "-1"),
    ({"max_retries": 1.5}, "ModelConfig.max_retries", "1.5"),
    ({"max_retries": True}, "ModelConfig.max_retries", "True"),
    ({"quality_threshold": 1.5}, "ModelConfig.quality_threshold", "1.5"),
    ({"domains": 5}, "ModelConfig.domains", "5"),
    ({"domains": "code"}, "ModelConfig.domains", "'code'"),
    ({"domains": [1]}, "ModelConfig.domains", "[1]"),
    ({"options": 5}, "ModelConfig.options", "int"),
    ({"options": {"top_logprobs": "x"}}, "ModelConfig.options['top_logprobs']", "'x'"),
    ({"options": {"top_logprobs": 21}}, "ModelConfig.options['top_logprobs']", "21"),
    ({"options": {"headers": "str"}}, "ModelConfig.options['headers']", "str"),
    ({"options": {"max_tokens": 0}}, "ModelConfig.options['max_tokens']", "0"),
    ({"base_url": "ftp://host/v1"}, "ModelConfig.base_url", "ftp://host/v1"),
    ({"base_url": "https://host/v1 "}, "ModelConfig.base_url", None),
    ({"base_url": 5}, "ModelConfig.base_url", "int"),
    ({"api_key": 5}, "ModelConfig.api_key", "int"),
    ({"supports_tools": "yes"}, "ModelConfig.supports_tools", "'yes'"),
]


@pytest.mark.parametrize(("kwargs", "field", "shown"), MODEL_CASES)
def test_bad_model_config_names_the_field(kwargs: dict[str, Any], field: str, shown: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        ModelConfig(**{"name": "m", "provider": "openai", **kwargs})
    assert_config_error(info, field, shown)


def test_model_config_from_dict_rejects_unknown_fields_and_non_mappings() -> None:
    with pytest.raises(ConfigError, match=r"ModelConfig\.nme"):
        ModelConfig.from_dict({"nme": "x"})
    with pytest.raises(ConfigError, match="mapping"):
        ModelConfig.from_dict(5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- QualityConfig / CheckSettings
AnyQuality: Any = QualityConfig  # the cases below pass wrong types on purpose
AnyChecks: Any = CheckSettings
QUALITY_CASES: list[tuple[Any, str, str | None]] = [
    (lambda: AnyQuality(confidence_thresholds=0.7), "QualityConfig.confidence_thresholds", "0.7"),
    (lambda: AnyQuality(confidence_thresholds={"hard": "high"}), "QualityConfig.confidence_thresholds['hard']",
     "'high'"),
    (lambda: AnyQuality(confidence_thresholds={"galactic": 0.5}), "QualityConfig.confidence_thresholds['galactic']",
     None),
    (lambda: AnyQuality(checks=5), "QualityConfig.checks", "int"),
    (lambda: AnyQuality(validators=5), "QualityConfig.validators", "5"),
    (lambda: AnyQuality(validators=[5]), "QualityConfig.validators[0]", "int"),
    (lambda: QualityConfig.uniform(NAN), "QualityConfig.threshold", "nan"),
    (lambda: AnyChecks(veto=INF), "CheckSettings.veto", "inf"),
    (lambda: AnyChecks(weights=5), "CheckSettings.weights", "5"),
    (lambda: AnyChecks(weights={"relevance": "a"}), "CheckSettings.weights['relevance']", "'a'"),
    (lambda: AnyChecks(user_weight=-INF), "CheckSettings.user_weight", "-inf"),
    (lambda: AnyChecks(options=5), "CheckSettings.options", "5"),
    (lambda: AnyChecks(options={"confidence": 0.5}), "CheckSettings.options['confidence']", "0.5"),
]


@pytest.mark.parametrize(("build", "field", "shown"), QUALITY_CASES)
def test_bad_quality_config_names_the_field(build: Any, field: str, shown: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        build()
    assert_config_error(info, field, shown)


# --------------------------------------------------------------------------- CascadeAgent
AGENT_CASES: list[tuple[dict[str, Any], str, str | None]] = [
    ({"max_escalations": "2"}, "max_escalations", "'2'"),
    ({"max_escalations": -1}, "max_escalations", "-1"),
    ({"max_escalations": 1.5}, "max_escalations", "1.5"),
    ({"start_tiers": {"trivial": "x"}}, "start_tiers['trivial']", "'x'"),
    ({"start_tiers": {"galactic": 0}}, "start_tiers['galactic']", None),
    ({"start_tiers": 5}, "start_tiers", "5"),
    ({"tier_order": "cheapest"}, "tier_order", "'cheapest'"),
    ({"quality_config": 0.7}, "quality_config", "float"),
    ({"enable_cascade": "yes"}, "enable_cascade", "'yes'"),
    ({"verbose": 1}, "verbose", "1"),
    ({"deadline_s": INF}, "deadline_s", "inf"),
    ({"kpi_weights": {"quality": "x"}}, "kpi_weights['quality']", "'x'"),
]


@pytest.mark.parametrize(("kwargs", "field", "shown"), AGENT_CASES)
def test_bad_agent_arguments_name_the_field(kwargs: dict[str, Any], field: str, shown: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        agent(**kwargs)
    assert_config_error(info, field, shown)


@pytest.mark.parametrize(
    ("models", "providers", "field"),
    [
        (ModelConfig(name="m", provider="fake", cost=0.1), {}, "models"),
        ([], {}, "models"),
        (["gpt-4o"], {}, "models[0]"),
        ([ModelConfig(name="m", provider="fake", cost=0.1)], [FunctionProvider(lambda r: "x")], "providers"),
    ],
    ids=["one-config", "empty", "a-string", "providers-a-list"],
)
def test_bad_models_and_providers_name_the_field(models: Any, providers: Any, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        CascadeAgent(models=models, providers=providers)
    assert info.value.field == field


@pytest.mark.parametrize("concurrency", [0, "2", 1.5])
async def test_bad_batch_concurrency_is_a_config_error(concurrency: Any) -> None:
    with pytest.raises(ConfigError, match="concurrency"):
        await agent().run_batch(["hi"], concurrency=concurrency)
