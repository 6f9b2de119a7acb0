"""examples/*.py, unchanged, against the real llama.cpp server standing in for OpenAI (only OPENAI_BASE_URL and a
dummy OPENAI_API_KEY are set). SmolLM2 answers badly, so the checks are mechanical: exit 0 and a report line
naming the tier that answered."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.llama_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_TIMEOUT_S = 300  # a handful of two-tier cascades on a loaded 2-core box
REPORT = re.compile(r"model_used=(gpt-4o-mini|gpt-4o) draft_accepted=(True|False)")


def run_example(server: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENAI_BASE_URL": server, "OPENAI_API_KEY": "dummy"}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=EXAMPLE_TIMEOUT_S, check=False)


@pytest.mark.parametrize("args", [
    ("examples/basic_usage.py", "--verbose"),  # the quickstart's command; --verbose only adds the step log
    ("examples/production_patterns.py",),
    ("examples/rollout_stages.py",),
    ("examples/cost_control.py",),
    ("examples/fastapi_app.py", "--self-test"),
])
def test_example_runs_against_the_local_server(args: tuple[str, ...], llama_server_url: str) -> None:
    proc = run_example(llama_server_url, *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    reports = REPORT.findall(proc.stdout)
    assert reports, proc.stdout[-3000:]
    assert all(model == ("gpt-4o-mini" if accepted == "True" else "gpt-4o") for model, accepted in reports)
    if "--verbose" in args:
        assert "[cascadeflow] tier 0 gpt-4o-mini" in proc.stderr
    if args[0].endswith("production_patterns.py"):
        assert "health_check: {'status': 'healthy'" in proc.stdout and "monitor status=" in proc.stdout
