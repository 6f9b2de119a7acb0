"""Calibration on synthetic labelled outcomes, and the YAML plan it writes, replayed through the real agent."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from cascadeflow import CascadeAgent
from cascadeflow.bench.runner import build_agent, replay_plan
from cascadeflow.calibrate.plan_search import CalibrationSettings, calibrate
from cascadeflow.cascade.plan_config import (
    CascadePlan,
    TierPlan,
    load_cascade_config,
    plan_agent_kwargs,
    plan_from_dict,
    plan_to_dict,
    read_plan,
    write_plan,
)
from cascadeflow.cascade.quality.agreement import AgreementValidator
from cascadeflow.cascade.quality.learned import LearnedValidator
from cascadeflow.errors import ConfigError
from cascadeflow.providers.fakes import ScriptedProvider
from cascadeflow.providers.replay import RecordedAnswer, RecordedPrompt

LETTERS = "ABCD"
MODELS = {"cheap_a": (1e-4, 0.70), "cheap_b": (2e-4, 0.75), "pricey": (3e-3, 0.80), "top": (5e-3, 0.95)}


def synthetic(n: int = 300, seed: int = 7) -> list[RecordedPrompt]:
    """4-option questions: each model is right with its own rate and otherwise picks a random wrong option,
    so two cheap models agreeing is strong evidence — the structure calibration should find."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        gold = rng.randrange(4)
        options = "\n".join(f"{LETTERS[k]}) option {k} of {i:05d}" for k in range(4))
        prompt = f"Question {i:05d}?\n{options}\nAnswer:"  # equal lengths: no spurious length feature
        answers = {}
        for model, (cost, rate) in MODELS.items():
            right = rng.random() < rate
            pick = gold if right else rng.choice([k for k in range(4) if k != gold])
            answers[model] = RecordedAnswer(LETTERS[pick], cost * (0.5 + rng.random()), right)
        records.append(RecordedPrompt(f"q{i}", prompt, answers, "synthetic"))
    return records


async def test_agreement_plan_found_and_replayed_exactly(tmp_path: Path) -> None:
    records = synthetic()
    settings = CalibrationSettings(target_quality=0.9, folds=3, max_tiers=2, strategies=("agreement",))
    result = calibrate(records, settings)
    plan = result.plan
    assert plan.models[-1] == "top" and result.top_model == "top"
    assert "pricey" not in plan.models  # costs more than a quarter of the top model
    assert plan.tiers[0].strategy == "collect" and plan.tiers[1].strategy == "agreement"
    assert result.reached_target and result.estimate.cost_ratio < 0.6
    path = tmp_path / "cascade.yaml"
    write_plan(plan, path)
    kwargs = load_cascade_config(path)
    assert isinstance(kwargs["tier_validators"]["cheap_b"], AgreementValidator)
    run = await replay_plan(records, kwargs)
    right = sum(r.correct for r in run.runs)
    top_right = sum(bool(r.answers["top"].correct) for r in records)
    cost = float(sum(r.cost for r in run.runs))
    top_cost = sum(r.answers["top"].cost_usd for r in records)
    # The production engine reproduces the calibration's own simulation of the chosen thresholds.
    assert right / top_right == pytest.approx(plan.calibration["fit_quality_ratio"], abs=1e-4)
    assert cost / top_cost == pytest.approx(plan.calibration["fit_cost_ratio"], abs=1e-4)


async def test_learned_plan_runs_in_an_agent(tmp_path: Path) -> None:
    records = synthetic(400, seed=3)
    result = calibrate(records, CalibrationSettings(target_quality=0.9, folds=3, max_tiers=2,
                                                    strategies=("learned",), shortlist=2))
    assert result.estimate.prompts == 400
    assert result.candidates and {"chain", "strategy", "fit", "cv"} <= set(result.candidates[0])
    learned = [t for t in result.plan.tiers if t.strategy == "learned"]
    assert learned, "the learned strategy should accept some drafts on this data"
    path = tmp_path / "learned.yaml"
    write_plan(result.plan, path)
    kwargs = load_cascade_config(path)
    assert isinstance(kwargs["tier_validators"][learned[0].model], LearnedValidator)
    agent = build_agent(records, kwargs)
    results = await agent.run_batch([r.prompt for r in records[:40]])
    used = {r.model_used for r in results if not isinstance(r, BaseException)}
    assert learned[0].model in used and "top" in used


async def test_chains_are_searched_in_any_order_and_the_plan_keeps_its_order(tmp_path: Path) -> None:
    result = calibrate(synthetic(200, seed=5), CalibrationSettings(target_quality=0.9, folds=2, max_tiers=3, beam=2,
                                                                   strategies=("agreement",), shortlist=2))
    chains = [tuple(c["chain"]) for c in result.candidates]
    assert ("cheap_b", "cheap_a") in chains and ("cheap_a", "cheap_b") in chains  # both orders tried
    assert len(chains) == len(set(chains)) and max(len(c) for c in chains) <= 3
    assert result.plan.tier_order == "given"
    # A plan listing a pricier tier first stays in that order in the agent, whatever the prices say.
    plan = CascadePlan((TierPlan("b", "collect", None, {"provider": "openai", "cost": 0.5}),
                        TierPlan("a", "agreement", 1.0, {"provider": "openai", "cost": 0.1}),
                        TierPlan("top", "rule", None, {"provider": "openai", "cost": 5.0})), tier_order="given")
    path = tmp_path / "ordered.yaml"
    write_plan(plan, path)
    assert "tier_order: given" in path.read_text()
    agent = CascadeAgent.from_config(path, providers={m: ScriptedProvider([]) for m in ("a", "b", "top")})
    assert [m.name for m in agent.models] == ["b", "a", "top"]
    with pytest.raises(ConfigError, match="tier_order"):
        plan_from_dict({**_plan_dict(), "tier_order": "random"})


def test_risk_control_writes_its_bound_and_costs_more_than_the_point_estimate() -> None:
    records = synthetic(400, seed=9)
    chain = ("cheap_a", "cheap_b", "top")
    bounded = calibrate(records, CalibrationSettings(target_quality=0.9, folds=3, strategies=("agreement",),
                                                     shortlist=2, chain=chain))
    point = calibrate(records, CalibrationSettings(target_quality=0.9, folds=3, strategies=("agreement",),
                                                   shortlist=2, chain=chain, delta=None))
    risk = bounded.plan.calibration["risk_control"]
    assert bounded.plan.models == ("cheap_a", "cheap_b", "top")  # --chain: only thresholds were searched
    assert risk["delta"] == 0.1 and risk["quality_lower_bound"] >= 0.9  # the plan's promise holds on its data
    assert "risk_control" not in point.plan.calibration
    assert bounded.plan.calibration["fit_quality_ratio"] >= point.plan.calibration["fit_quality_ratio"]
    assert bounded.plan.calibration["fit_cost_ratio"] >= point.plan.calibration["fit_cost_ratio"]
    with pytest.raises(ConfigError, match="delta"):
        CalibrationSettings(delta=1.5)
    with pytest.raises(ConfigError, match="chain"):
        CalibrationSettings(chain=("top",))
    with pytest.raises(ConfigError, match="features"):
        CalibrationSettings(features="some")


def test_settings_and_data_are_validated() -> None:
    with pytest.raises(ConfigError, match="strategies"):
        CalibrationSettings(strategies=("magic",))
    with pytest.raises(ConfigError, match="folds"):
        CalibrationSettings(folds=1)
    with pytest.raises(ConfigError, match="beam"):
        CalibrationSettings(beam=0)
    with pytest.raises(ConfigError, match="no labelled prompts"):
        calibrate([])
    with pytest.raises(ConfigError, match="top_model"):
        calibrate(synthetic(30), CalibrationSettings(top_model="nobody", folds=2))


def _plan_dict() -> dict[str, object]:
    return {
        "version": 1,
        "tiers": [
            {"model": "small", "provider": "openai", "input_price": 0.1, "output_price": 0.2, "strategy": "collect"},
            {"model": "mid", "provider": "openai", "strategy": "agreement", "threshold": 2 / 3,
             "agreement": {"kind": "choice", "min_agree": 1}},
            {"model": "top", "provider": "openai"},
        ],
    }


def test_plan_round_trip_and_thresholds_round_down(tmp_path: Path) -> None:
    plan = plan_from_dict(_plan_dict())
    data = plan_to_dict(plan)
    assert data["tiers"][1]["threshold"] == 0.666666  # rounded down: 2/3 still passes after the round trip
    path = tmp_path / "p.yaml"
    write_plan(plan, path)
    again = read_plan(path)
    assert again.models == ("small", "mid", "top")
    config = again.tiers[0].model_config()
    assert config.input_price == 0.1 and config.provider == "openai"
    assert again.tiers[1].model_config().quality_threshold == 0.666666


@pytest.mark.parametrize(
    ("change", "field"),
    [({"colour": 1}, "colour"), ({"tiers": []}, "tiers"), ({"version": 9}, "version"),
     ({"start_tiers": {"galactic": 0}}, "start_tiers.galactic")],
)
def test_plan_errors_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        plan_from_dict({**_plan_dict(), **change})


def test_tier_errors_name_the_field() -> None:
    bad_tiers = [
        ({"model": "x", "strategy": "vibes"}, "strategy"),
        ({"model": "x", "strategy": "learned"}, "learned"),
        ({"model": "x", "speed": 3}, "speed"),
        ({"model": "x", "agreement": {"quorum": 2}}, "quorum"),
        ({"model": ""}, "model"),
        ({"model": "x", "threshold": 3.0}, "quality_threshold"),
    ]
    for tier, field in bad_tiers:
        with pytest.raises(ConfigError, match=field):
            plan_from_dict({"tiers": [tier]})


def test_read_plan_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        read_plan(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        read_plan(tmp_path / "list.yaml")


def test_rule_tiers_use_the_agents_default_validator() -> None:
    plan = CascadePlan((TierPlan("a", "rule", 0.8, {"provider": "openai"}), TierPlan("b")))
    kwargs = plan_agent_kwargs(plan)
    assert kwargs["tier_validators"] == {}
    assert kwargs["models"][0].quality_threshold == 0.8
