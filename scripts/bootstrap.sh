#!/usr/bin/env bash
# Create .venv (if missing) and install cascadeflow with the given extras. Idempotent and quiet when up to date.
# Usage: scripts/bootstrap.sh EXTRAS   e.g. scripts/bootstrap.sh "dev,cli,bench,local,server-tests"
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=".venv/.installed-$(echo "$extras" | tr ',' '-')"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "installing cascadeflow[$extras] into .venv (the first llama-cpp-python build takes ~6 min on 2 cores)..." >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
  touch "$stamp"
fi
