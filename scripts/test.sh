#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, lints, type-checks, runs every test.
# Real services (the llama.cpp server with SmolLM2) are installed and started by the tests' own fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh "dev,cli,bench,local,server-tests,litellm,langchain,openai-agents,pydantic-ai,autogen"
# crewai cannot share the main environment (it pins openai<3); tests/frameworks/test_crewai_env.py runs its suite here.
bash scripts/bootstrap.sh "dev,crewai" .venv-crewai
.venv/bin/ruff check src tests bench scripts examples
.venv/bin/mypy
.venv-crewai/bin/mypy src/cascadeflow/integrations/crewai.py tests/frameworks/crewai_suite examples/integrations/crewai_example.py
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
