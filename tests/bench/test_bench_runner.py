"""Replay and probe runs through the real agent, sweeps, the report and the plot, on a synthetic recording."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cascadeflow.bench.datasets import load_routerbench
from cascadeflow.bench.plots import plot_report
from cascadeflow.bench.report import build_report, render_markdown, summarize_run, write_json
from cascadeflow.bench.runner import probe_signals, replay_plan
from cascadeflow.bench.sweep import outcome_matrices, signal_report, sweep
from cascadeflow.cascade.plan_config import CascadePlan, TierPlan, plan_agent_kwargs, write_plan
from cascadeflow.cli.main import build_app
from cascadeflow.errors import ReplayError
from cascadeflow.providers.replay import RecordedPrompt

REQUIRED_KEYS = {"accuracy", "cost", "top_model_accuracy", "top_model_cost", "quality_ratio", "cost_ratio",
                 "acceptance_rate", "baselines", "signals"}
SIGNAL_KEYS = {"apgr", "cpt50", "cpt80", "cost_at_95", "auroc"}


def _plan() -> CascadePlan:
    base = {"provider": "replay"}
    return CascadePlan((TierPlan("tiny-7b", "collect", None, base),
                        TierPlan("mid-34b", "agreement", 1.0, base, params={"agreement": {"kind": "choice"}}),
                        TierPlan("big-gpt", "rule", None, base)))


def _expected(records: list[RecordedPrompt]) -> tuple[int, Decimal]:
    """What the agreement cascade must do, computed straight from the recording."""
    right, cost = 0, Decimal(0)
    for r in records:
        tiny, mid, top = (r.answers[m] for m in ("tiny-7b", "mid-34b", "big-gpt"))
        if tiny.answer.strip() == mid.answer.strip():
            right += bool(mid.correct)
            cost += tiny.cost + mid.cost
        else:
            right += bool(top.correct)
            cost += tiny.cost + mid.cost + top.cost
    return right, cost


async def test_replay_reproduces_the_cascade_decisions_and_costs(routerbench_csv: Path) -> None:
    records, _ = load_routerbench(routerbench_csv)
    seen: list[tuple[int, int]] = []
    run = await replay_plan(records, plan_agent_kwargs(_plan()), concurrency=4,
                            progress=lambda done, total: seen.append((done, total)))
    assert not run.errors and len(run.runs) == len(records)
    right, cost = _expected(records)
    assert sum(r.correct for r in run.runs) == right
    assert sum((r.cost for r in run.runs), Decimal(0)) == cost
    assert seen[-1] == (len(records), len(records))
    summary = summarize_run(records, run)
    assert summary["acceptance_rate"]["tiny-7b"] == 0.0 and summary["acceptance_rate"]["big-gpt"] == 1.0
    assert summary["top_rate"] == summary["answered_by"]["big-gpt"]


async def test_unknown_model_is_reported_not_hidden(routerbench_csv: Path) -> None:
    records, _ = load_routerbench(routerbench_csv)
    plan = CascadePlan((TierPlan("tiny-7b", "rule", 0.5, {"provider": "replay"}),
                        TierPlan("ghost", "rule", None, {"provider": "replay"})))
    with pytest.raises(ReplayError, match="ghost"):
        await replay_plan(records, plan_agent_kwargs(plan))


async def test_probe_scores_every_tier_and_sweeps(routerbench_csv: Path) -> None:
    records, _ = load_routerbench(routerbench_csv)
    tiers, table = await probe_signals(records, plan_agent_kwargs(_plan()), concurrency=8)
    assert tiers == ("tiny-7b", "mid-34b", "big-gpt")
    first = table[(records[0].prompt, "tiny-7b")]
    assert "agreement" not in first and {"config", "rule"} <= set(first)
    second = table[(records[0].prompt, "mid-34b")]
    assert second["agreement"] in (0.0, 1.0)
    report = signal_report(records, tiers, table)
    assert set(report["agreement"]) >= SIGNAL_KEYS and report["agreement"]["auroc"] > 0.6
    cost, correct = outcome_matrices(records, tiers)
    flat = np.full((len(records), 2), 0.5)  # a signal that knows nothing
    curve = sweep(flat, cost, correct)
    assert curve[0].top_rate == 0.0 and curve[-1].top_rate == 1.0  # from "accept all" to "accept none"
    assert len(curve) == 3


async def test_report_markdown_and_plot(routerbench_csv: Path, tmp_path: Path) -> None:
    records, _ = load_routerbench(routerbench_csv)
    run = await replay_plan(records, plan_agent_kwargs(_plan()))
    tiers, table = await probe_signals(records, plan_agent_kwargs(_plan()))
    report = build_report(records=records, run=run, baselines={"always_top": {
        "accuracy": 0.9, "cost": 1.0, "quality_ratio": 1.0, "cost_ratio": 1.0}},
        signals=signal_report(records, tiers, table), meta={"title": "toy", "data": ["toy.csv"]})
    assert set(report) >= REQUIRED_KEYS
    write_json(report, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["prompts"] == len(records)
    text = render_markdown(report)
    assert "| **cascade** |" in text and "agreement" in text
    plot_report(report, tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_bench_replay_and_calibrate(routerbench_csv: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    app = build_app()
    out = tmp_path / "cascade.yaml"
    calibrated = runner.invoke(app, ["calibrate", "--data", str(routerbench_csv), "--target-quality", "0.9",
                                     "--folds", "3", "--max-tiers", "1", "--out", str(out)])
    assert calibrated.exit_code == 0, calibrated.output
    assert out.read_text().startswith("# cascadeflow cascade config")
    paths = {k: tmp_path / f"r.{k}" for k in ("json", "md", "png")}
    replayed = runner.invoke(app, ["bench", "replay", "--data", str(routerbench_csv), "--config", str(out),
                                   "--json", str(paths["json"]), "--report", str(paths["md"]),
                                   "--plot", str(paths["png"]), "--holdout", "0.5", "--part", "test"])
    assert replayed.exit_code == 0, replayed.output
    report = json.loads(paths["json"].read_text())
    assert set(report) >= REQUIRED_KEYS and report["split"]["part"] == "test"
    assert {"always_cheapest", "always_top", "random", "oracle"} == set(report["baselines"])
    assert all(set(s) >= SIGNAL_KEYS for s in report["signals"].values())
    # The configured cascade's own sweep metrics are also at the top level.
    assert {k: report[k] for k in SIGNAL_KEYS} == {k: report["signals"]["config"][k] for k in SIGNAL_KEYS}
    assert paths["md"].read_text().startswith("# Replay") and paths["png"].stat().st_size > 1000
    simple = runner.invoke(app, ["bench", "replay", "--data", str(routerbench_csv), "--models",
                                 "tiny-7b,mid-34b,big-gpt", "--json", str(tmp_path / "s.json"), "--no-probe"])
    assert simple.exit_code == 0, simple.output
    both = runner.invoke(app, ["bench", "replay", "--data", str(routerbench_csv), "--json", str(tmp_path / "x")])
    assert both.exit_code != 0
    missing = runner.invoke(app, ["bench", "replay", "--data", str(tmp_path / "none.csv"), "--models", "a,b",
                                  "--json", str(tmp_path / "y")])
    assert missing.exit_code == 1


def test_plan_written_by_hand_replays_via_cli(routerbench_csv: Path, tmp_path: Path) -> None:
    path = tmp_path / "hand.yaml"
    write_plan(_plan(), path)
    result = CliRunner().invoke(build_app(), ["bench", "replay", "--data", str(routerbench_csv), "--config",
                                              str(path), "--json", str(tmp_path / "h.json"), "--no-probe"])
    assert result.exit_code == 0, result.output
    records, _ = load_routerbench(routerbench_csv)
    right, cost = _expected(records)
    report = json.loads((tmp_path / "h.json").read_text())
    assert report["accuracy"] == pytest.approx(right / len(records), abs=1e-5)
    assert report["cost"] == pytest.approx(float(cost), abs=1e-6)


def test_the_default_strategy_replays_what_cascade_agent_models_does(routerbench_csv: Path, tmp_path: Path) -> None:
    """--strategy default: CascadeAgent(models) alone — corroboration with three tiers, so the first tier never
    answers a multiple-choice prompt on its own; the report carries the AUROC of the decisions."""
    out = tmp_path / "default.json"
    result = CliRunner().invoke(build_app(), [
        "bench", "replay", "--data", str(routerbench_csv), "--models", "tiny-7b,mid-34b,big-gpt",
        "--strategy", "default", "--json", str(out), "--no-probe"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["answered_by"]["tiny-7b"] == 0 and report["answered_by"]["mid-34b"] > 0
    assert 0.0 <= report["decision_auroc"] <= 1.0
    online = tmp_path / "online.json"
    plot = tmp_path / "online.png"
    result = CliRunner().invoke(build_app(), [
        "bench", "replay", "--data", str(routerbench_csv), "--models", "tiny-7b,mid-34b,big-gpt",
        "--strategy", "default", "--online", "--target-quality", "0.9", "--json", str(online), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    streamed = json.loads(online.read_text())
    assert {"quality_ratio", "cost_ratio", "shadow_rate", "series"} <= set(streamed) and plot.stat().st_size > 0
