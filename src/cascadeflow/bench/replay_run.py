"""Replaying a cascade over recorded benchmark outputs: load a split, build a simple plan, replay it, report.

The logic behind ``cascadeflow bench replay`` (the CLI only parses arguments and shows progress).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from cascadeflow.bench.baselines import baselines
from cascadeflow.bench.report import build_report, summarize_run
from cascadeflow.bench.runner import probe_signals, replay_plan
from cascadeflow.bench.sweep import outcome_matrices, signal_report
from cascadeflow.cascade.plan_config import CascadePlan, TierPlan
from cascadeflow.errors import ConfigError
from cascadeflow.providers.replay import RecordedPrompt

StageProgress = Callable[[str, int, int], None]
"""``(stage, done, total)``: told as each stage advances."""


def _silent(stage: str, done: int, total: int) -> None:
    return None


STRATEGY_DEFAULT_THRESHOLD: Final = MappingProxyType({"agreement": 1.0, "rule": 0.7})
"""agreement 1.0: accept only when every earlier draft agrees; rule 0.7: QualityConfig.for_cascade()."""
DEFAULT_STRATEGY: Final = "default"
"""The package's own default: ``CascadeAgent(models=[...])`` with nothing else (no plan, default start tiers)."""
STRATEGIES: Final = (*STRATEGY_DEFAULT_THRESHOLD, DEFAULT_STRATEGY)


def load_split(
    data: list[Path], holdout: float | None, part: str, seed: int, exclude: Path | None
) -> list[RecordedPrompt]:
    """Load the files and keep one side of the hashed split (all records when ``holdout`` is None)."""
    from cascadeflow.bench.datasets import load_records, split_records

    records, _ = load_records(data, contaminated=exclude)
    return records if holdout is None else split_records(records, holdout=holdout, part=part, seed=seed)


def default_agent_kwargs(models: list[str]) -> dict[str, Any]:
    """``CascadeAgent`` arguments of the package default over replayed ``models`` (tried in the order given)."""
    from cascadeflow.providers.replay import replay_model_config

    if len(models) < 2:
        raise ConfigError("models", "give at least two models (the order to try, top last)")
    return {"models": [replay_model_config(m) for m in models]}


def simple_plan(
    models: list[str], strategy: str, threshold: float | None, *, execute_code: bool = False
) -> CascadePlan:
    if len(models) < 2:
        raise ConfigError("models", "give at least two models (the order to try, top last)")
    if strategy not in STRATEGY_DEFAULT_THRESHOLD:
        raise ConfigError("strategy", f"choose one of {sorted(STRATEGIES)}, got {strategy!r}")
    t = STRATEGY_DEFAULT_THRESHOLD[strategy] if threshold is None else threshold
    base = {"provider": "replay"}
    tiers = []
    spec = {"execute": True} if execute_code else {}
    for i, m in enumerate(models[:-1]):
        if strategy == "agreement":
            tiers.append(TierPlan(m, "collect" if i == 0 else "agreement", None if i == 0 else t, base,
                                  params={} if i == 0 else {"agreement": spec}))
        else:
            tiers.append(TierPlan(m, "rule", t, base))
    return CascadePlan((*tiers, TierPlan(models[-1], "rule", None, base)))


def run_benchmark(
    records: list[RecordedPrompt],
    agent_kwargs: dict[str, Any],
    *,
    concurrency: int,
    probe: bool,
    meta: dict[str, Any],
    execute_code: bool = False,
    progress: StageProgress | None = None,
) -> dict[str, Any]:
    """Replay, probe, compare with baselines; returns the report mapping. ``progress(stage, done, total)``."""
    report = progress or _silent
    run = asyncio.run(replay_plan(records, agent_kwargs, concurrency=concurrency,
                                  progress=lambda done, total: report("replaying cascade", done, total)))
    signals: dict[str, Any] = {}
    if probe:
        tiers, table = asyncio.run(probe_signals(records, agent_kwargs, concurrency=concurrency,
                                                 progress=lambda done, total: report("scoring every tier", done, total),
                                                 execute_code=execute_code))
        signals = signal_report(records, tiers, table)
    summary = summarize_run(records, run)
    answered = {p.prompt_id for p in run.runs}
    cost, correct = outcome_matrices([r for r in records if r.prompt_id in answered], run.tiers)
    base = {k: v.to_dict() for k, v in baselines(cost, correct, summary["top_rate"] or 0.0).items()}
    return build_report(records=records, run=run, baselines=base, signals=signals, meta=meta)
