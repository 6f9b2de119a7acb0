"""``cascadeflow bench replay``: replay a cascade over recorded benchmark outputs and measure it.

    cascadeflow bench replay --data ../shared/bench/routerbench/arc_challenge_train.csv \\
        --config cascade.yaml --json out.json --report out.md --plot out.png

Without ``--config``, ``--models`` (in the order to try, top model last) with ``--strategy`` builds a simple cascade
(``--strategy default``: the package's own default for that chain). ``--online --target-quality Q`` runs the prompts
as an ordered stream through a self-calibrating cascade instead (:mod:`cascadeflow.bench.online`).
This module only parses arguments; the logic is :mod:`cascadeflow.bench.replay_run`: the real ``CascadeAgent`` runs
every prompt (replay providers, concurrent ``run_batch``), then a second pass scores every tier's draft under every
signal for the threshold sweeps and AUROCs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from cascadeflow.errors import CascadeFlowError

if TYPE_CHECKING:
    from cascadeflow.providers.replay import RecordedPrompt
    from cascadeflow.shadow.settings import ShadowSettings

DataOption = Annotated[list[Path], typer.Option("--data", help="recorded outputs (RouterBench or RouteLLM CSV); "
                                                "repeat for several files")]
SplitOption = Annotated[float | None, typer.Option("--holdout", help="keep only a stable hashed split: fraction "
                                                   "held out (with --part)")]
PartOption = Annotated[str, typer.Option("--part", help="'test' (the held-out fraction) or 'train' (the rest)")]
SeedOption = Annotated[int, typer.Option("--seed", help="seed of the hashed split")]
ExcludeOption = Annotated[Path | None, typer.Option("--exclude", help="RouteLLM contamination list (default: a "
                                                    "*contaminated*.jsonl next to the data)")]


def _agent_kwargs(config: Path | None, models: str | None, strategy: str, threshold: float | None,
                  execute_code: bool) -> dict[str, Any]:
    from cascadeflow.bench.replay_run import DEFAULT_STRATEGY, default_agent_kwargs, simple_plan
    from cascadeflow.cascade.plan_config import plan_agent_kwargs, read_plan

    chain = [m.strip() for m in (models or "").split(",") if m.strip()]
    if config is None and strategy == DEFAULT_STRATEGY:
        return default_agent_kwargs(chain)
    plan = read_plan(config) if config else simple_plan(chain, strategy, threshold, execute_code=execute_code)
    return plan_agent_kwargs(plan)


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
    online: Annotated[bool, typer.Option("--online", help="the prompts as an ordered stream through a "
                                         "self-calibrating (shadow-mode) cascade: no labels, shadow calls billed")]
    = False,
    target_quality: Annotated[float, typer.Option(help="--online: share of answers that must agree with the top "
                                                  "tier's")] = 0.95,
    delta: Annotated[float, typer.Option(help="--online: risk level of the bound that certifies a policy")] = 0.1,
    stream_order: Annotated[str, typer.Option(help="--online: 'shuffled' (seeded; stationary traffic) or 'file' "
                                              "(as loaded)")] = "shuffled",
    shadow_store: Annotated[str | None, typer.Option(help="--online: keep the shadow records in this store URL "
                                                     "(default: in memory)")] = None,
) -> None:
    """Replay a cascade over recorded model outputs; report accuracy, cost and savings vs the top model."""
    from cascadeflow.bench.replay_run import load_split
    from cascadeflow.bench.report import write_json

    console = Console(stderr=True)
    if (config is None) == (models is None):
        raise typer.BadParameter("give either --config or --models", param_hint="--config/--models")
    try:
        records = load_split(data, holdout, part, seed, exclude)
        agent_kwargs = _agent_kwargs(config, models, strategy, threshold, execute_code)
        meta = {"title": title or (config.stem if config else f"{strategy} cascade"), "data": [str(p) for p in data],
                "config": str(config) if config else None, "split": None if holdout is None else
                {"holdout": holdout, "part": part, "seed": seed}, "prompts_loaded": len(records)}
        if online:
            from cascadeflow.shadow.settings import ShadowSettings

            settings = ShadowSettings(target_quality=target_quality, delta=delta)
            result = _online(records, agent_kwargs, settings, seed, stream_order, shadow_store, meta)
        else:
            result = _offline(records, agent_kwargs, concurrency, probe, meta, execute_code)
    except CascadeFlowError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    write_json(result, json_out)
    _outputs(result, report, plot, online)
    extra = f", {100 * result['shadow_rate']:.1f}% of prompts shadowed" if online else ""
    console.print(f"accuracy {100 * result['accuracy']:.1f}% ({100 * result['quality_ratio']:.1f}% of the top "
                  f"model) at {100 * result['cost_ratio']:.1f}% of its cost on {result['prompts']} prompts{extra}")


def _offline(records: list[RecordedPrompt], agent_kwargs: dict[str, Any], concurrency: int, probe: bool,
             meta: dict[str, Any], execute_code: bool) -> dict[str, Any]:
    from rich.progress import Progress, TaskID

    from cascadeflow.bench.replay_run import run_benchmark

    with Progress(transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            tasks.setdefault(stage, bar.add_task(stage, total=total))
            bar.update(tasks[stage], completed=done)

        return run_benchmark(records, agent_kwargs, concurrency=concurrency, probe=probe, meta=meta,
                             execute_code=execute_code, progress=progress)


def _online(records: list[RecordedPrompt], agent_kwargs: dict[str, Any], settings: ShadowSettings, seed: int,
            order: str, store: str | None, meta: dict[str, Any]) -> dict[str, Any]:
    from rich.progress import Progress

    from cascadeflow.bench.online import STREAM_ORDERS, run_online

    if order not in STREAM_ORDERS:
        raise typer.BadParameter(f"choose one of {list(STREAM_ORDERS)}", param_hint="--stream-order")
    with Progress(transient=True) as bar:
        task = bar.add_task("online stream", total=len(records))
        return run_online(records, agent_kwargs, settings, seed=seed, order=order, store=store, meta=meta,
                          progress=lambda done, total: bar.update(task, completed=done))


def _outputs(result: dict[str, Any], report: Path | None, plot: Path | None, online: bool) -> None:
    from cascadeflow.bench.report import render_markdown

    if report and not online:
        report.write_text(render_markdown(result), encoding="utf-8")
    if plot and online:
        from cascadeflow.bench.online import plot_online

        plot_online(result, plot)
    elif plot:
        from cascadeflow.bench.plots import plot_report

        plot_report(result, plot)


def register(app: typer.Typer) -> None:
    bench = typer.Typer(help="Benchmarks: replay recorded model outputs through a cascade.", no_args_is_help=True)
    bench.command("replay")(replay)
    app.add_typer(bench, name="bench")
