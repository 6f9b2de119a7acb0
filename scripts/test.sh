#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, lints, type-checks, runs every test.
# Real services: Redis and PostgreSQL are installed and started by scripts/services.sh (their URLs are exported
# from .cache/services.env); the llama.cpp server with SmolLM2 is started by the tests' own fixtures.
# System packages: bubblewrap (the sandbox for model-written code, docs/sandbox.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system_deps.sh bubblewrap
bash scripts/bootstrap.sh "dev,cli,bench,local,server-tests,redis,postgres,traffic,parquet,server,otel,litellm,langchain,openai-agents,pydantic-ai,autogen,semantic,routing,integrations"
# crewai cannot share the main environment (it pins openai<3); tests/frameworks/test_crewai_env.py runs its suite here.
bash scripts/bootstrap.sh "dev,crewai" .venv-crewai
if ! bash scripts/services.sh start; then
  if [ "${CI:-}" = "true" ]; then
    echo "test.sh: Redis/PostgreSQL could not be started (required in CI)" >&2
    exit 1
  fi
  echo "test.sh: Redis/PostgreSQL not started; their tests will be skipped" >&2
fi
if [ -f .cache/services.env ]; then
  set -a
  # shellcheck disable=SC1091
  . .cache/services.env
  set +a
fi
.venv/bin/ruff check src tests bench scripts examples
.venv/bin/mypy
.venv-crewai/bin/mypy src/cascadeflow/integrations/crewai.py tests/frameworks/crewai_suite examples/integrations/crewai_example.py
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
