"""Runs the crewai suite with the real crewai in its own virtualenv (.venv-crewai, made by scripts/test.sh)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CREWAI_PYTHON = ROOT / ".venv-crewai" / "bin" / "python"
# The suite takes a few seconds; importing crewai (chromadb, lancedb, opentelemetry) cold can take a minute
# on a loaded 2-core machine.
SUITE_TIMEOUT_S = 600


@pytest.mark.skipif(sys.platform == "win32", reason="the bootstrap script makes a POSIX virtualenv")
def test_crewai_suite_passes_with_the_real_crewai() -> None:
    if not CREWAI_PYTHON.exists():
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"{CREWAI_PYTHON} is missing: scripts/test.sh creates it", pytrace=False)
        pytest.skip("no .venv-crewai: run `bash scripts/bootstrap.sh dev,crewai .venv-crewai`")
    cmd = [str(CREWAI_PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/frameworks/crewai_suite"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=SUITE_TIMEOUT_S, check=False,
                          env={**os.environ, "CI": os.environ.get("CI", "")})
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in summary and "skipped" not in summary, summary
