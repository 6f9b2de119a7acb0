"""``cascadeflow bench replay``: replay a cascade over recorded benchmark outputs and measure it.

    cascadeflow bench replay --data ../shared/bench/routerbench/arc_challenge_train.csv \\
        --config cascade.yaml --json out.json --report out.md --plot out.png

Without ``--config``, ``--models`` (in the order to try, top model last) with ``--strategy`` builds a simple cascade.
The real ``CascadeAgent`` runs every prompt (replay providers, concurrent ``run_batch``, a progress bar); a
second pass scores every tier's draft under every signal for the threshold sweeps and AUROCs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from rich.console import Console

from cascadeflow.errors import CascadeFlowError

if TYPE_CHECKING:
    from cascadeflow.cascade.plan_config import CascadePlan
    from cascadeflow.providers.replay import RecordedPrompt

DataOption = Annotated[list[Path], typer.Option("--data", help="recorded outputs (RouterBench or RouteLLM CSV); "
                                                "repeat for several files")]
SplitOption = Annotated[float | None, typer.Option("--holdout", help="keep only a stable hashed split: fraction "
                                                   "held out (with --part)")]
PartOption = Annotated[str, typer.Option("--part", help="'test' (the held-out fraction) or 'train' (the rest)")]
SeedOption = Annotated[int, typer.Option("--seed", help="seed of the hashed split")]
ExcludeOption = Annotated[Path | None, typer.Option("--exclude", help="RouteLLM contamination list (default: a "
                                                    "*contaminated*.jsonl next to the data)")]
STRATEGY_DEFAULT_THRESHOLD: Final = {"agreement": 1.0, "rule": 0.7}
"""agreement 1.0: accept only when every earlier draft agrees; rule 0.7: QualityConfig.for_cascade()."""


def load_split(
    data: list[Path], holdout: float | None, part: str, seed: int, exclude: Path | None
) -> list[RecordedPrompt]:
    """Load the files and keep one side of the hashed split (all records when ``holdout`` is None)."""
    from cascadeflow.bench.datasets import load_records, split_records

    records, _ = load_records(data, contaminated=exclude)
    return records if holdout is None else split_records(records, holdout=holdout, part=part, seed=seed)


def _simple_plan(
    models: list[str], strategy: str, threshold: float | None, *, execute_code: bool = False
) -> CascadePlan:
    from cascadeflow.cascade.plan_config import CascadePlan, TierPlan

    if len(models) < 2:
        raise typer.BadParameter("give at least two models (the order to try, top last)", param_hint="--models")
    if strategy not in STRATEGY_DEFAULT_THRESHOLD:
        raise typer.BadParameter(f"choose one of {sorted(STRATEGY_DEFAULT_THRESHOLD)}", param_hint="--strategy")
    t = STRATEGY_DEFAULT_THRESHOLD[strategy] if threshold is None else threshold
    base = {"provider": "replay"}
    tiers = []
    spec = {"execute": True} if execute_code else {}
    for i, m in enumerate(models[:-1]):
        if strategy == "agreement":
            tiers.append(TierPlan(m, "collect" if i == 0 else "agreement", None if i == 0 else t, base,
                                  agreement={} if i == 0 else spec))
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
) -> dict[str, Any]:
    """Replay, probe, compare with baselines; returns the report mapping."""
    from rich.progress import Progress

    from cascadeflow.bench.baselines import baselines
    from cascadeflow.bench.report import build_report, summarize_run
    from cascadeflow.bench.runner import probe_signals, replay_plan
    from cascadeflow.bench.sweep import outcome_matrices, signal_report

    with Progress(transient=True) as bar:
        task = bar.add_task("replaying cascade", total=len(records))
        run = asyncio.run(replay_plan(records, agent_kwargs, concurrency=concurrency,
                                      progress=lambda done, total: bar.update(task, completed=done)))
        signals: dict[str, Any] = {}
        if probe:
            task2 = bar.add_task("scoring every tier", total=len(records))
            tiers, table = asyncio.run(probe_signals(records, agent_kwargs, concurrency=concurrency,
                                                     progress=lambda done, total: bar.update(task2, completed=done),
                                                     execute_code=execute_code))
            signals = signal_report(records, tiers, table)
    summary = summarize_run(records, run)
    answered = {p.prompt_id for p in run.runs}
    cost, correct = outcome_matrices([r for r in records if r.prompt_id in answered], run.tiers)
    base = {k: v.to_dict() for k, v in baselines(cost, correct, summary["top_rate"] or 0.0).items()}
    return build_report(records=records, run=run, baselines=base, signals=signals, meta=meta)


def replay(
    data: DataOption,
    json_out: Annotated[Path, typer.Option("--json", help="write the full report (JSON) here")],
    models: Annotated[str | None, typer.Option(help="comma-separated tiers in the order to try, top last")] = None,
    config: Annotated[Path | None, typer.Option(help="cascade YAML (from `cascadeflow calibrate`)")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="write a markdown summary here")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="write the cost–quality curve (PNG) here")] = None,
    strategy: Annotated[str, typer.Option(help="without --config: 'agreement' or 'rule'")] = "agreement",
    threshold: Annotated[float | None, typer.Option(help="without --config: the acceptance threshold")] = None,
    title: Annotated[str | None, typer.Option(help="title of the report and plot")] = None,
    holdout: SplitOption = None,
    part: PartOption = "test",
    seed: SeedOption = 0,
    exclude: ExcludeOption = None,
    concurrency: Annotated[int, typer.Option(help="prompts in flight")] = 32,
    probe: Annotated[bool, typer.Option("--probe/--no-probe", help="also sweep every signal")] = True,
    execute_code: Annotated[bool, typer.Option(
        "--execute-code/--no-execute-code",
        help="compare code answers by running them (agreement signal, --strategy agreement); runs model code")] = False,
) -> None:
    """Replay a cascade over recorded model outputs; report accuracy, cost and savings vs the top model."""
    from cascadeflow.bench.plots import plot_report
    from cascadeflow.bench.report import render_markdown, write_json
    from cascadeflow.cascade.plan_config import plan_agent_kwargs, read_plan

    console = Console(stderr=True)
    if (config is None) == (models is None):
        raise typer.BadParameter("give either --config or --models", param_hint="--config/--models")
    try:
        records = load_split(data, holdout, part, seed, exclude)
        plan = read_plan(config) if config else _simple_plan([m.strip() for m in (models or "").split(",")],
                                                              strategy, threshold, execute_code=execute_code)
        meta = {"title": title or (config.stem if config else f"{strategy} cascade"), "data": [str(p) for p in data],
                "config": str(config) if config else None, "split": None if holdout is None else
                {"holdout": holdout, "part": part, "seed": seed}, "prompts_loaded": len(records)}
        result = run_benchmark(records, plan_agent_kwargs(plan), concurrency=concurrency, probe=probe, meta=meta,
                               execute_code=execute_code)
    except CascadeFlowError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    write_json(result, json_out)
    if report:
        report.write_text(render_markdown(result), encoding="utf-8")
    if plot:
        plot_report(result, plot)
    console.print(f"accuracy {100 * result['accuracy']:.1f}% ({100 * result['quality_ratio']:.1f}% of the top "
                  f"model) at {100 * result['cost_ratio']:.1f}% of its cost on {result['prompts']} prompts")


def register(app: typer.Typer) -> None:
    bench = typer.Typer(help="Benchmarks: replay recorded model outputs through a cascade.", no_args_is_help=True)
    bench.command("replay")(replay)
    app.add_typer(bench, name="bench")
