#!/usr/bin/env bash
# Make sure the Debian/Ubuntu packages given are installed: as root, installs the missing ones (idempotent:
# does nothing when all are there); otherwise says what to run and fails. On systems without dpkg it only
# reminds what to install. Usage: scripts/system_deps.sh PKG...   e.g. scripts/system_deps.sh bubblewrap
set -euo pipefail
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system_deps: not a Debian/Ubuntu system; make sure these are installed: $*" >&2
  exit 0
fi
missing=()
for pkg in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "system_deps: missing ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "system_deps: installing ${missing[*]}..." >&2
export DEBIAN_FRONTEND=noninteractive
# Straight from the local package lists when they are fresh enough; else refresh them once and retry.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
  || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
