#!/usr/bin/env bash
# Create .venv (if missing) and install cascadeflow with the given extras. Idempotent and quiet when up to date.
# Usage: scripts/bootstrap.sh EXTRAS   e.g. scripts/bootstrap.sh "dev,cli,bench,local,server-tests"
# Extras that need llama.cpp get it from src/cascadeflow/llama_build.py first: a portable build (GGML_NATIVE=OFF,
# this CPU's instruction sets, never AMX) kept in ~/.cache/cascadeflow/wheels, so pip's own wheel cache can never
# put a crashing native build back.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
case ",$extras," in
  *,local,*|*,server-tests,*) .venv/bin/python -P src/cascadeflow/llama_build.py install >/dev/null ;;
esac
stamp=".venv/.installed-$(echo "$extras" | tr ',' '-')"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "installing cascadeflow[$extras] into .venv..." >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
  touch "$stamp"
fi
