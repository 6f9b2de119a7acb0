"""``cascadeflow bench replay``: replay a cascade over recorded benchmark outputs and measure it.

    cascadeflow bench replay --data ../shared/bench/routerbench/arc_challenge_train.csv \\
        --config cascade.yaml --json out.json --report out.md --plot out.png

Without ``--config``, ``--models`` (in the order to try, top model last) with ``--strategy`` builds a simple cascade.
This module only parses arguments; the logic is :mod:`cascadeflow.bench.replay_run`: the real ``CascadeAgent`` runs
every prompt (replay providers, concurrent ``run_batch``), then a second pass scores every tier's draft under every
signal for the threshold sweeps and AUROCs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cascadeflow.errors import CascadeFlowError

DataOption = Annotated[list[Path], typer.Option("--data", help="recorded outputs (RouterBench or RouteLLM CSV); "
                                                "repeat for several files")]
SplitOption = Annotated[float | None, typer.Option("--holdout", help="keep only a stable hashed split: fraction "
                                                   "held out (with --part)")]
PartOption = Annotated[str, typer.Option("--part", help="'test' (the held-out fraction) or 'train' (the rest)")]
SeedOption = Annotated[int, typer.Option("--seed", help="seed of the hashed split")]
ExcludeOption = Annotated[Path | None, typer.Option("--exclude", help="RouteLLM contamination list (default: a "
                                                    "*contaminated*.jsonl next to the data)")]


def replay(
    data: DataOption,
    json_out: Annotated[Path, typer.Option("--json", help="write the full report (JSON) here")],
    models: Annotated[str | None, typer.Option(help="comma-separated tiers in the order to try, top last")] = None,
    config: Annotated[Path | None, typer.Option(help="cascade YAML (from `cascadeflow calibrate`)")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="write a markdown summary here")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="write the cost–quality curve (PNG) here")] = None,
    strategy: Annotated[str, typer.Option(help="without --config: 'agreement', 'rule' or 'default' (the package's "
                                          "default: CascadeAgent(models) with nothing else)")] = "agreement",
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
    from rich.progress import Progress, TaskID

    from cascadeflow.bench.plots import plot_report
    from cascadeflow.bench.replay_run import (
        DEFAULT_STRATEGY,
        default_agent_kwargs,
        load_split,
        run_benchmark,
        simple_plan,
    )
    from cascadeflow.bench.report import render_markdown, write_json
    from cascadeflow.cascade.plan_config import plan_agent_kwargs, read_plan

    console = Console(stderr=True)
    if (config is None) == (models is None):
        raise typer.BadParameter("give either --config or --models", param_hint="--config/--models")
    try:
        records = load_split(data, holdout, part, seed, exclude)
        chain = [m.strip() for m in (models or "").split(",") if m.strip()]
        if config is None and strategy == DEFAULT_STRATEGY:
            agent_kwargs = default_agent_kwargs(chain)
        else:
            plan = read_plan(config) if config else simple_plan(chain, strategy, threshold, execute_code=execute_code)
            agent_kwargs = plan_agent_kwargs(plan)
        meta = {"title": title or (config.stem if config else f"{strategy} cascade"), "data": [str(p) for p in data],
                "config": str(config) if config else None, "split": None if holdout is None else
                {"holdout": holdout, "part": part, "seed": seed}, "prompts_loaded": len(records)}
        with Progress(transient=True) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int) -> None:
                tasks.setdefault(stage, bar.add_task(stage, total=total))
                bar.update(tasks[stage], completed=done)

            result = run_benchmark(records, agent_kwargs, concurrency=concurrency, probe=probe, meta=meta,
                                   execute_code=execute_code, progress=progress)
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
