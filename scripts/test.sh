#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, lints, type-checks, runs every test.
# Real services (the llama.cpp server with SmolLM2) are installed and started by the tests' own fixtures.
# System packages: bubblewrap (the sandbox for model-written code, docs/sandbox.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system_deps.sh bubblewrap
bash scripts/bootstrap.sh "dev,cli,bench,local,server-tests"
.venv/bin/ruff check src tests bench scripts
.venv/bin/mypy
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
