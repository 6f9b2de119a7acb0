"""The gateway config: exact keys from the issue, every mistake a ConfigError naming the field, keys hashed."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cascadeflow.cli.main import build_app
from cascadeflow.errors import ConfigError
from cascadeflow.server.config import GatewayConfig
from cascadeflow.server.keys import KeyRing, bearer_key
from cascadeflow.server.runner import check_shared_state

UP = "http://127.0.0.1:9/v1"


def config(**more: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "models": [
            {"name": "auto", "cascade": [{"name": "small", "provider": "openai", "base_url": UP, "api_key": "x",
                                          "cost": 0.0002},
                                         {"name": "big", "provider": "openai", "base_url": UP, "api_key": "x",
                                          "cost": 0.002}]},
            {"name": "fast", "provider": "openai", "base_url": UP, "api_key": "x", "cost": 0.0002},
        ],
        "keys": [{"key": "sk-test-a", "budget": {"daily": 10.0}, "rpm": 600}],
        "store": "sqlite:///gateway.db",
    }
    data.update(more)
    return data


def test_the_issue_example_loads(tmp_path: Path) -> None:
    loaded = GatewayConfig.from_dict(config(), base_dir=tmp_path)
    auto, fast = loaded.models
    assert [t.name for t in auto.tiers] == ["small", "big"] and not auto.passthrough
    assert fast.passthrough and fast.tiers[0].name == "fast"
    key = loaded.keys[0]
    assert key.rpm == 600 and key.budget is not None and str(key.budget.daily) == "10.0"
    assert key.id.startswith("key-") and "sk-test-a" not in repr(key)
    assert loaded.store == f"sqlite:///{tmp_path / 'gateway.db'}"


def test_key_forms_and_constant_time_lookup() -> None:
    digest = hashlib.sha256(b"sk-hashed").hexdigest()
    loaded = GatewayConfig.from_dict(config(keys=[{"key_sha256": digest, "id": "hashed"},
                                                  {"key_env": "GW_KEY", "id": "env"}]), environ={"GW_KEY": "sk-env"})
    ring = KeyRing(loaded.keys)
    assert ring.authenticate("sk-hashed") is loaded.keys[0]
    assert ring.authenticate("sk-env") is loaded.keys[1]
    assert ring.authenticate("sk-hashe") is None and ring.authenticate("") is None
    assert ring.authenticate("x" * 10_000) is None
    assert bearer_key("Bearer sk-a") == "sk-a" and bearer_key("Basic abc") is None and bearer_key(None, "k") == "k"


@pytest.mark.parametrize(("change", "field"), [
    ({"models": []}, "models"),
    ({"models": [{"name": "x", "provider": "openai", "cost": "cheap"}]}, "models[0].cost"),
    ({"models": [{"name": "x", "cascade": [{"name": "a"}], "colour": 1}]}, "models[0].colour"),
    ({"models": [{"name": "x", "config": "missing.yaml"}]}, "models[0].config"),
    ({"keys": [{"key": "a", "key_env": "B"}]}, "keys[0]"),
    ({"keys": [{"key_sha256": "abc"}]}, "keys[0].key_sha256"),
    ({"keys": [{"key_env": "NOT_SET_ANYWHERE"}]}, "keys[0].key_env"),
    ({"keys": [{"key": "a", "budget": {"yearly": 5}}]}, "keys[0].budget.yearly"),
    ({"keys": [{"key": "a", "budget": {"daily": -1}}]}, "keys[0].budget.daily"),
    ({"keys": [{"key": "a", "rpm": 0}]}, "keys[0].rpm"),
    ({"keys": [{"key": "a", "models": ["nope"]}]}, "keys[0].models"),
    ({"keys": [{"key": "a"}, {"key": "a"}]}, "keys[1]"),
    ({"store": "ftp://x"}, "store"),
    ({"rate_limit_store": "postgresql://x"}, "rate_limit_store"),
    ({"server": {"port": 70000}}, "server.port"),
    ({"server": {"workers": 0}}, "server.workers"),
    ({"logging": {"bodies": "yes"}}, "logging.bodies"),
    ({"colour": 1}, "colour"),
])
def test_mistakes_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        GatewayConfig.from_dict(config(**change), environ={})
    assert info.value.field == field
    assert "sk-test-a" not in str(info.value)


def test_workers_need_shared_stores() -> None:
    loaded = GatewayConfig.from_dict(config(store="memory://"))
    with pytest.raises(ConfigError, match="budgets in one process"):
        check_shared_state(loaded, 2)
    check_shared_state(loaded, 1)
    shared = GatewayConfig.from_dict(config(store="redis://127.0.0.1:1/0"))
    assert shared.rate_limit_store == "redis://127.0.0.1:1/0"
    check_shared_state(shared, 2)


def test_serve_check_lists_models_and_keys(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(config()), encoding="utf-8")
    result = CliRunner().invoke(build_app(), ["serve", "--config", str(path), "--check"])
    assert result.exit_code == 0, result.output
    assert "model auto: cascade of 2" in result.output and "model fast: passthrough" in result.output
    assert "sk-test-a" not in result.output
    bad = CliRunner().invoke(build_app(), ["serve", "--config", str(path), "--workers", "0", "--check"])
    assert bad.exit_code == 2
