"""Bad values in a cascade YAML file or in CASCADEFLOW_* variables are ConfigErrors naming the field (or the
variable) and the bad value, never a plain ValueError/TypeError from deep inside; a file in another encoding
than UTF-8 says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cascadeflow import CascadeAgent
from cascadeflow.cascade.plan_config import plan_from_dict, read_plan
from cascadeflow.env_config import agent_kwargs_from_env
from cascadeflow.errors import ConfigError

TOP = {"model": "top", "provider": "openai", "cost": 0.01}


def plan(first_tier: dict[str, Any] | None = None, **top_level: Any) -> dict[str, Any]:
    tier = {"model": "small", "provider": "openai", "cost": 0.001, "strategy": "agreement", **(first_tier or {})}
    return {"version": 1, "tiers": [tier, TOP], **top_level}


YAML_CASES: list[tuple[dict[str, Any], str, str | None]] = [
    (plan({"threshold": "high"}), "tiers[0].threshold", "'high'"),
    (plan({"threshold": 1.5}), "tiers[0].quality_threshold", "1.5"),
    (plan({"agreement": {"min_agree": "x"}}), "tiers[0].agreement.min_agree", "'x'"),
    (plan({"agreement": {"min_agree": 0}}), "tiers[0].agreement.min_agree", "0"),
    (plan({"agreement": {"peers": 5}}), "tiers[0].agreement.peers", "5"),
    (plan({"agreement": {"peers": "small"}}), "tiers[0].agreement.peers", "'small'"),
    (plan({"agreement": {"kind": 3}}), "tiers[0].agreement.kind", "3"),
    (plan({"agreement": 5}), "tiers[0].agreement", "5"),
    (plan({"domains": 5}), "tiers[0].domains", "5"),
    (plan({"timeout_s": float("inf")}), "tiers[0].timeout_s", "inf"),
    (plan({"max_retries": 10**9}), "tiers[0].max_retries", "1000000000"),
    (plan({"cost": float("inf")}), "tiers[0].cost", "inf"),
    (plan({"strategy": 5}), "tiers[0].strategy", "5"),
    (plan(max_escalations="many"), "max_escalations", "'many'"),
    (plan(max_escalations=-1), "max_escalations", "-1"),
    (plan(start_tiers={"trivial": "x"}), "start_tiers.trivial", "'x'"),
    (plan(start_tiers=5), "start_tiers", "5"),
    (plan(calibration=5), "calibration", "5"),
    (plan(tier_order=["given"]), "tier_order", "['given']"),
]


@pytest.mark.parametrize(("data", "field", "shown"), YAML_CASES)
def test_bad_plan_values_name_the_field(data: dict[str, Any], field: str, shown: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        plan_from_dict(data)
    assert isinstance(info.value, ValueError) and info.value.field == field, str(info.value)
    if shown is not None:
        assert shown in str(info.value)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("version: 1\ntiers:\n  - {model: small, provider: openai, cost: 0.001, threshold: high}\n",
         "tiers[0].threshold"),
        ("version: 1\nmax_escalations: many\ntiers:\n  - {model: small, provider: openai, cost: 0.001}\n",
         "max_escalations"),
        ("version: 1\ntiers:\n  - {model: small, provider: openai, cost: 0.001, domains: 5}\n", "tiers[0].domains"),
        ("version: 1\ntiers:\n  - {model: s, cost: 0.1, strategy: agreement, agreement: {peers: 5}}\n",
         "tiers[0].agreement.peers"),
    ],
)
def test_bad_yaml_files_fail_at_load_naming_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "cascade.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        CascadeAgent.from_config(path)
    assert info.value.field == field


def test_a_latin1_file_is_an_error_that_names_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "cascade.yaml"
    text = yaml.safe_dump(plan()) + "# café\n"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8") as info:
        read_plan(path)
    assert "0xe9" in str(info.value) and info.value.field == "config"


def test_a_utf8_file_with_non_ascii_text_loads(tmp_path: Path) -> None:
    path = tmp_path / "cascade.yaml"
    path.write_text(yaml.safe_dump(plan()) + "# café ☕\n", encoding="utf-8")
    assert read_plan(path).models == ("small", "top")


# --------------------------------------------------------------------------- environment variables
ENV_CASES: list[tuple[dict[str, str], str, str | None]] = [
    ({"CASCADEFLOW_MODELS": ""}, "CASCADEFLOW_MODELS", None),
    ({"CASCADEFLOW_MODELS": ":gpt-4o"}, "CASCADEFLOW_MODELS", "':gpt-4o'"),
    ({"CASCADEFLOW_MODELS": "openai:gpt@inf"}, "CASCADEFLOW_MODELS", "inf"),
    ({"CASCADEFLOW_MODELS": "openai:gpt@nan"}, "CASCADEFLOW_MODELS", "nan"),
    ({"CASCADEFLOW_MODELS": "openai:gpt@-1"}, "CASCADEFLOW_MODELS", "-1"),
    ({"CASCADEFLOW_MODELS": "openai:gpt@cheap"}, "CASCADEFLOW_MODELS", "'cheap'"),
    ({"CASCADEFLOW_MODELS": "openai:gpt\udcff"}, "CASCADEFLOW_MODELS", "lone surrogate"),
    ({"CASCADEFLOW_MODELS": "openai:gpt", "CASCADEFLOW_QUALITY_THRESHOLD": "high"}, "CASCADEFLOW_QUALITY_THRESHOLD",
     "'high'"),
    ({"CASCADEFLOW_MODELS": "openai:gpt", "CASCADEFLOW_QUALITY_THRESHOLD": "nan"}, "CASCADEFLOW_QUALITY_THRESHOLD",
     "nan"),
    ({"CASCADEFLOW_MODELS": "openai:gpt", "CASCADEFLOW_KPI_WEIGHTS": "quality=x"},
     "CASCADEFLOW_KPI_WEIGHTS['quality']", "'x'"),
    ({"CASCADEFLOW_MODELS": "openai:gpt", "CASCADEFLOW_ENABLE_DOMAIN_ROUTING": "maybe"},
     "CASCADEFLOW_ENABLE_DOMAIN_ROUTING", "'maybe'"),
    ({"CASCADEFLOW_MODELS": "openai:gpt", "CASCADEFLOW_DEADLINE_S": "inf"}, "CASCADEFLOW_DEADLINE_S", "'inf'"),
    ({"CASCADEFLOW_MODELS": "openai:gpt", "CASCADEFLOW_DEADLINE_S": "soon"}, "CASCADEFLOW_DEADLINE_S", "'soon'"),
    ({"CASCADEFLOW_GALACTIC_MODELS": "openai:gpt"}, "CASCADEFLOW_GALACTIC_MODELS", "'galactic'"),
]


@pytest.mark.parametrize(("environ", "field", "shown"), ENV_CASES)
def test_bad_environment_values_name_the_variable(environ: dict[str, str], field: str, shown: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        agent_kwargs_from_env(environ)
    assert info.value.field == field, str(info.value)
    if shown is not None:
        assert shown in str(info.value)


def test_the_deadline_variable_reaches_the_agent() -> None:
    kwargs = agent_kwargs_from_env({"CASCADEFLOW_MODELS": "openai:gpt", "CASCADEFLOW_DEADLINE_S": "12.5"})
    assert kwargs["deadline_s"] == 12.5
