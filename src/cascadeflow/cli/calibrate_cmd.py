"""``cascadeflow calibrate``: choose tiers, strategy and thresholds from labelled outcomes; write a YAML config.

    cascadeflow calibrate --data ../shared/bench/routerbench/arc_challenge_train.csv \\
        --data ../shared/bench/routerbench/winograde_train.csv --target-quality 0.97 --out cascade.yaml
    cascadeflow calibrate --from-traces sqlite:///shadow.db --target-quality 0.95 --out cascade.yaml

Thresholds are chosen with risk control: a plan qualifies only when a lower confidence bound (1 - ``--delta``) of
its quality ratio reaches the target. The estimate printed (and stored under ``calibration:`` in the file) is
k-fold cross-validated (thresholds chosen the same way on the other folds, quality and cost measured on the
held-out fold); the bound is stored with it under ``calibration.risk_control``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cascadeflow.cli.bench_cmd import ExcludeOption, PartOption, SeedOption, SplitOption
from cascadeflow.errors import CascadeFlowError

if TYPE_CHECKING:
    from cascadeflow.calibrate.plan_search import CalibrationResult, CalibrationSettings
    from cascadeflow.providers.replay import RecordedPrompt

SHOWN_CANDIDATES = 8  # rows of the candidates table printed; --candidates writes all of them


def calibrate(
    out: Annotated[Path, typer.Option("--out", help="where to write the cascade YAML")],
    data: Annotated[list[Path] | None, typer.Option("--data", help="recorded outputs (RouterBench or RouteLLM "
                                                    "CSV); repeat for several files")] = None,
    from_traces: Annotated[str | None, typer.Option("--from-traces", help="refit from the shadow records in this "
                                                    "store URL (sqlite:///shadow.db, redis://, postgresql://) "
                                                    "instead of labelled data")] = None,
    target_quality: Annotated[float, typer.Option(help="required fraction of the top model's accuracy")] = 0.97,
    delta: Annotated[float, typer.Option(help="risk control: thresholds must keep the target with confidence "
                                         "1 - delta (Clopper-Pearson lower bound on the quality ratio)")] = 0.1,
    risk_control: Annotated[bool, typer.Option("--risk-control/--no-risk-control", help="off: point estimate + "
                                               "a cross-validated margin (the older rule)")] = True,
    margin: Annotated[float, typer.Option(help="extra margin added to the target")] = 0.0,
    chain: Annotated[str | None, typer.Option(help="comma-separated fixed chain, top model last: search only "
                                              "strategies and thresholds")] = None,
    features: Annotated[str, typer.Option(help="learned-scorer features: 'robust' (no length features) or "
                                          "'all'")] = "robust",
    folds: Annotated[int, typer.Option(help="cross-validation folds")] = 5,
    max_tiers: Annotated[int, typer.Option(help="cheap tiers before the top model")] = 3,
    models: Annotated[str | None, typer.Option(help="comma-separated candidate models (default: all)")] = None,
    top: Annotated[str | None, typer.Option(help="top model (default: the most accurate)")] = None,
    strategies: Annotated[str, typer.Option(help="comma-separated: agreement, learned")] = "agreement,learned",
    provider: Annotated[str, typer.Option(help="provider name written for every tier")] = "replay",
    checks: Annotated[bool, typer.Option("--checks/--no-checks", help="rule-check scores as learned features")] = True,
    beam: Annotated[int, typer.Option(help="chains of each length extended by one more tier")] = 6,
    execute_code: Annotated[bool, typer.Option(
        "--execute-code/--no-execute-code",
        help="agreement compares code answers by running them (runs the recorded model code)")] = False,
    candidates: Annotated[Path | None, typer.Option(help="write every candidate's numbers (JSON) here")] = None,
    holdout: SplitOption = None,
    part: PartOption = "train",
    seed: SeedOption = 0,
    exclude: ExcludeOption = None,
) -> None:
    """Search cascades on labelled outcomes; write the cheapest one meeting the quality target."""
    from cascadeflow.bench.replay_run import load_split
    from cascadeflow.calibrate.plan_search import CalibrationSettings
    from cascadeflow.cascade.plan_config import write_plan

    console = Console(stderr=True)
    if (from_traces is None) == (not data):
        raise typer.BadParameter("give either --data or --from-traces", param_hint="--data/--from-traces")
    if from_traces is not None:
        _from_traces(console, from_traces, out, target_quality, delta, provider)
        return
    try:
        settings = CalibrationSettings(
            target_quality=target_quality, margin=margin, folds=folds, max_tiers=max_tiers,
            delta=delta if risk_control else None, features=features,
            chain=tuple(m.strip() for m in chain.split(",") if m.strip()) if chain else (),
            strategies=tuple(s.strip() for s in strategies.split(",") if s.strip()),
            models=tuple(m.strip() for m in models.split(",")) if models else (), top_model=top,
            seed=seed, provider=provider, checks=checks, beam=beam, execute_code=execute_code,
        )
        result = _run(load_split(data or [], holdout, part, seed, exclude), settings)
    except CascadeFlowError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    write_plan(result.plan, out)
    if candidates:
        candidates.write_text(json.dumps(result.candidates, indent=1) + "\n", encoding="utf-8")
    _show(console, result.candidates)
    est = result.estimate
    verdict = "meets" if result.reached_target else "[yellow]misses[/]"
    console.print(f"{' → '.join(result.plan.models)} ({result.plan.calibration.get('strategy')}): cross-validated "
                  f"{100 * est.quality_ratio:.1f}% of {result.top_model}'s accuracy at {100 * est.cost_ratio:.1f}% "
                  f"of its cost — {verdict} the {100 * target_quality:.0f}% target. Wrote {out}.")
    risk = result.plan.calibration.get("risk_control")
    if isinstance(risk, dict):
        console.print(f"risk control: with {100 * (1 - float(risk['delta'])):.0f}% confidence the plan keeps at least "
                      f"{100 * float(risk['quality_lower_bound']):.1f}% of the top model's accuracy on prompts like "
                      "these.")


def _from_traces(console: Console, store: str, out: Path, target: float, delta: float, provider: str) -> None:
    """Refit from shadow records (the same fit a running ShadowAgent makes) and write the plan."""
    from cascadeflow.calibrate.from_traces import plan_from_traces
    from cascadeflow.cascade.plan_config import write_plan
    from cascadeflow.shadow.settings import ShadowSettings

    try:
        plan, policy = plan_from_traces(store, ShadowSettings(target_quality=target, delta=delta), provider=provider)
    except CascadeFlowError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    write_plan(plan, out)
    console.print(f"{' → '.join(plan.models)} from {policy.records} shadow records ({policy.labelled} labelled "
                  f"drafts): disagreement with the top tier at most {100 * policy.plan_bound:.1f}% "
                  f"({100 * (1 - delta):.0f}% confidence). Wrote {out}.")


def _run(records: list[RecordedPrompt], settings: CalibrationSettings) -> CalibrationResult:
    """Calibrate with a progress bar per stage (screening, cross-validation)."""
    from rich.progress import Progress, TaskID

    from cascadeflow.calibrate.plan_search import calibrate as run_calibration

    with Progress(transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        return run_calibration(records, settings, progress=progress)


def _show(console: Console, rows: list[dict[str, Any]]) -> None:
    table = Table(title="cheapest candidates (thresholds fitted on all prompts; cv = held-out folds)")
    for column in ("chain", "strategy", "fit quality", "fit cost", "cv quality", "cv cost"):
        table.add_column(column)
    for row in rows[:SHOWN_CANDIDATES]:
        fit, cv = row["fit"], row["cv"]
        table.add_row(" → ".join(str(m).rsplit("/", 1)[-1] for m in row["chain"]), str(row["strategy"]),
                      f"{fit['quality_ratio']:.3f}", f"{fit['cost_ratio']:.3f}",
                      "—" if cv is None else f"{cv['quality_ratio']:.3f}",
                      "—" if cv is None else f"{cv['cost_ratio']:.3f}")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate)
