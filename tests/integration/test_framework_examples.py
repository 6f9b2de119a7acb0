"""examples/integrations/*.py, unchanged, against the real llama.cpp server (it stands in for OpenAI).

Each example builds the README's two-tier cascade (gpt-4o-mini → gpt-4o, provider "openai"); only
OPENAI_BASE_URL and a dummy OPENAI_API_KEY are set. SmolLM2 answers badly, so the check is mechanical: the
script exits 0 and reports which tier answered. The crewai example runs in .venv-crewai (crewai pins openai<3).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.llama_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "integrations"
CREWAI_PYTHON = ROOT / ".venv-crewai" / "bin" / "python"
# Up to four short cascades of two tiers each on a loaded 2-core box, plus importing a framework.
EXAMPLE_TIMEOUT_S = 300
REPORT = re.compile(r"^model_used=(gpt-4o-mini|gpt-4o) draft_accepted=(True|False)", re.MULTILINE)


def run_example(python: str, name: str, server: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENAI_BASE_URL": server, "OPENAI_API_KEY": "dummy", "CREWAI_DISABLE_TELEMETRY": "true",
           "OTEL_SDK_DISABLED": "true"}
    return subprocess.run([python, str(EXAMPLES / name)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=EXAMPLE_TIMEOUT_S, check=False)


@pytest.mark.parametrize("name", ["langchain_example.py", "openai_agents_example.py", "pydantic_ai_example.py",
                                  "autogen_example.py"])
def test_example_runs_and_reports_the_answering_tier(name: str, llama_server_url: str) -> None:
    proc = run_example(sys.executable, name, llama_server_url)
    assert proc.returncode == 0, proc.stderr[-3000:]
    reports = REPORT.findall(proc.stdout)
    assert reports, proc.stdout[-3000:]
    # an accepted draft is the cheap tier's answer; a rejected one was escalated to the top tier
    assert all(model == ("gpt-4o-mini" if accepted == "True" else "gpt-4o") for model, accepted in reports)


def test_crewai_example_runs_in_its_environment(llama_server_url: str) -> None:
    if not CREWAI_PYTHON.exists():
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"{CREWAI_PYTHON} is missing: scripts/test.sh creates it", pytrace=False)
        pytest.skip("no .venv-crewai")
    proc = run_example(str(CREWAI_PYTHON), "crewai_example.py", llama_server_url)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert REPORT.search(proc.stdout), proc.stdout[-3000:]
