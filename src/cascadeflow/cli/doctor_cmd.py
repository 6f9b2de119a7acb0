"""``cascadeflow doctor``: check the local llama.cpp engine in a child process and say what to do if it is broken."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cascadeflow.doctor import PROBE_TIMEOUT_S, DoctorReport, diagnose


def _render(report: DoctorReport, console: Console) -> None:
    table = Table(title="cascadeflow doctor", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    features = sorted(f for f in report.to_dict()["cpu_features"])
    build = " ".join(name for name, on in sorted(report.features.items()) if on) or "unknown"
    installed = report.installed_build or "not built by cascadeflow (unknown flags)"
    marker = "" if report.installed_build == report.expected_build else f" (this CPU's build: {report.expected_build})"
    rows = [
        ("machine", report.machine), ("cpu", report.cpu), ("cpu features", " ".join(features) or "unknown"),
        ("llama-cpp-python", report.llama_version or "not installed"), ("build", installed + marker),
        ("build features", build), ("probe model", report.probe_model or "none"),
    ]
    if report.probe is not None:
        stages = report.probe.stages
        gen = stages.get("generate", {})
        if not report.probe.ok:
            probe = report.probe.failure() or ""
        elif gen:
            probe = f"generated {gen.get('tokens', 0)} tokens in {gen.get('seconds', 0)} s: {gen.get('text', '')!r}"
        else:
            probe = "imported the engine and read its build; no model to load"
        rows.append(("probe", probe))
    for name, value in rows:
        table.add_row(name, escape(str(value)))
    for m in report.models:
        table.add_row(f"model {m.name}", escape(f"{m.state} · sha256 {m.sha256} · {m.path}"))
    console.print(table)
    if report.ok:
        console.print("[green]✓ the local engine loads a model and generates on this machine[/]")
        return
    for problem in report.problems:
        console.print(f"[bold red]✗[/] {escape(problem)}")
    console.print(f"[bold]advice:[/] {escape(report.advice() or '')}")


def doctor(
    model: Annotated[Path | None, typer.Option(help="GGUF file to probe (default: the smallest verified "
                                               "catalogue model)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    rehash: Annotated[bool, typer.Option("--verify", help="re-hash every model file (slow for 1 GB files)")] = False,
    quiet: Annotated[bool, typer.Option(help="print one line when healthy, the full report otherwise")] = False,
    timeout: Annotated[float, typer.Option(help="seconds the child probe may take")] = PROBE_TIMEOUT_S,
) -> None:
    """Check the local llama.cpp engine: CPU features, build flags, model files, a real load + generate."""
    console = Console()
    report = diagnose(model=model, rehash=rehash, timeout_s=timeout)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, default=str))
    elif quiet and report.ok:
        gen = report.probe.stages.get("generate", {}) if report.probe else {}
        console.print(f"[green]✓[/] doctor: llama-cpp-python {report.llama_version} (build "
                      f"{report.installed_build or 'unknown'}) loaded {Path(report.probe_model or '').name} and "
                      f"generated {gen.get('tokens', 0)} tokens", soft_wrap=True)
    else:
        _render(report, console)
    if not report.ok:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
