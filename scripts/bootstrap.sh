#!/usr/bin/env bash
# Create a virtualenv (if missing) and install cascadeflow with the given extras. Idempotent and quiet when up to date.
# Usage: scripts/bootstrap.sh EXTRAS [VENV]   e.g. scripts/bootstrap.sh "dev,cli,bench,local,server-tests"
# VENV defaults to .venv; the crewai integration gets its own (.venv-crewai): crewai pins openai<3, the OpenAI
# Agents SDK needs openai>=3, so the two cannot share one environment.
# Extras that need llama.cpp get it from src/cascadeflow/llama_build.py first: a portable build (GGML_NATIVE=OFF,
# this CPU's instruction sets, never AMX) kept in ~/.cache/cascadeflow/wheels, so pip's own wheel cache can never
# put a crashing native build back.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
venv="${2:-.venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
case ",$extras," in
  *,local,*|*,server-tests,*) "$venv/bin/python" -P src/cascadeflow/llama_build.py install >/dev/null ;;
esac
case ",$extras," in
  # sentence-transformers (the semantic/routing extras) needs torch, and a bare `torch` requirement resolves to a
  # CUDA build of several GB: install the CPU build first (this machine kind keeps it on disk for pip).
  *,semantic,*|*,routing,*|*,all,*)
    "$venv/bin/python" -c "import torch" 2>/dev/null \
      || "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "torch==${CASCADEFLOW_TORCH_VERSION:-2.13.0}" ;;
esac
stamp="$venv/.installed-$(echo "$extras" | tr ',' '-')"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "installing cascadeflow[$extras] into $venv..." >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
  touch "$stamp"
fi
