"""Plan strategies are looked up by name in a registry; a new one plugs in without touching plan_config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cascadeflow import CascadeAgent, ScriptedProvider
from cascadeflow.cascade.plan_config import TierPlan, plan_from_dict, plan_to_dict
from cascadeflow.cascade.quality.base import ValidationContext, Validator, Verdict
from cascadeflow.cascade.strategies import StrategyContext, StrategyRegistry
from cascadeflow.errors import ConfigError
from cascadeflow.types import Completion, CompletionRequest


@dataclass(frozen=True, slots=True)
class LengthStrategy:
    """A user's strategy: accept drafts of at least ``min_words`` words."""

    name: str = "length"
    settings_key: str | None = "length"

    def check(self, settings: Mapping[str, Any], where: str) -> Mapping[str, Any]:
        if not isinstance(settings.get("min_words"), int):
            raise ConfigError(f"{where}.min_words", f"must be an integer, got {settings.get('min_words')!r}")
        return settings

    def runs_code(self, settings: Mapping[str, Any]) -> bool:
        return False

    def build(self, tier: TierPlan, settings: Mapping[str, Any], context: StrategyContext) -> Validator | None:
        need = int(settings["min_words"])

        def validator(request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
            ok = len(draft.content.split()) >= need
            return Verdict(1.0 if ok else 0.0, ok, (f"{len(draft.content.split())} words",), (), "length", 0.5)

        return validator


PLAN = {"tiers": [{"model": "small", "provider": "fake", "cost": 0.001, "strategy": "length",
                   "length": {"min_words": 3}},
                  {"model": "large", "provider": "fake", "cost": 0.01}]}


def test_unknown_strategies_and_blocks_are_named() -> None:
    with pytest.raises(ConfigError, match=r"tiers\[0\]\.length: unknown key"):  # nobody reads a 'length' block
        plan_from_dict(PLAN)
    plain = {"tiers": [{k: v for k, v in PLAN["tiers"][0].items() if k != "length"}, PLAN["tiers"][1]]}
    with pytest.raises(ConfigError, match=r"tiers\[0\]\.strategy: must be one of \['agreement', 'collect', "
                                          r"'learned', 'rule'\], got 'length'"):
        plan_from_dict(plain)
    registry = StrategyRegistry()
    registry.register(LengthStrategy())
    bad = {"tiers": [{**PLAN["tiers"][0], "length": {"min_words": "x"}}, PLAN["tiers"][1]]}
    with pytest.raises(ConfigError, match=r"tiers\[0\]\.length\.min_words"):
        plan_from_dict(bad, registry)


async def test_a_registered_strategy_runs_and_round_trips(tmp_path: Path) -> None:
    import yaml

    registry = StrategyRegistry()
    registry.register(LengthStrategy())
    plan = plan_from_dict(PLAN, registry)
    assert plan_from_dict(plan_to_dict(plan), registry) == plan
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(PLAN))
    small, large = ScriptedProvider(["too short", "long enough answer here"]), ScriptedProvider(["big answer"])
    agent = CascadeAgent.from_config(path, strategies=registry, providers={"small": small, "large": large},
                                     resilience=False)
    first = await agent.run("question?")
    second = await agent.run("question?")
    assert (first.model_used, second.model_used) == ("large", "small")
    assert first.steps[0].verdict is not None and first.steps[0].verdict.decided_by == "length"
