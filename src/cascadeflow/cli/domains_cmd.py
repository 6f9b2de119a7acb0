"""``cascadeflow bench-domains``: accuracy and speed of the domain detector on the labelled set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def bench_domains(
    split: Annotated[str, typer.Option(help="dev, test (held out) or all")] = "test",
    data: Annotated[Path | None, typer.Option(help="labelled JSONL set (default: the bundled one)")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="also write the result as JSON here")] = None,
    show_misses: Annotated[bool, typer.Option(help="list every misclassified prompt")] = False,
) -> None:
    """Print the confusion table, per-domain and overall accuracy, and µs per detect() call."""
    from cascadeflow.bench.domain_eval import DEFAULT_DATA, main

    argv = ["--data", str(data or DEFAULT_DATA), "--split", split]
    if json_path is not None:
        argv += ["--json", str(json_path)]
    if show_misses:
        argv.append("--show-misses")
    raise typer.Exit(main(argv))


def register(app: typer.Typer) -> None:
    app.command("bench-domains")(bench_domains)
