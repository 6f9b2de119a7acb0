#!/usr/bin/env bash
# Real Redis and PostgreSQL on loopback for the tests of the shared ledgers, caches and rate limits.
# Installs the Debian packages when they are missing, starts one server of each per checkout (idempotent: a
# server that still answers is reused) and writes their URLs to .cache/services.env, which scripts/test.sh
# exports and tests/services.py reads. A URL already set in the environment is used as given (nothing started).
#   scripts/services.sh [start|stop]
# Data lives under /tmp (one folder per checkout) because PostgreSQL runs as the `postgres` user, which must be
# able to reach it; under root we run initdb/pg_ctl through runuser, never the server as root.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
state="/tmp/cascadeflow-services-$(printf %s "$repo" | sha1sum | cut -c1-12)"
envfile="$repo/.cache/services.env"
dbname="cascadeflow_test"
wait_steps=100   # x 0.1 s: how long a fresh server may take to answer

log() { echo "services: $*" >&2; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi
}

apt_install() {
  log "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_bindir() {
  local found
  found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$found" ] && [ -x "$found/initdb" ] && echo "$found"
}

ensure_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  pg_bindir >/dev/null || missing+=(postgresql)
  command -v psql >/dev/null || missing+=(postgresql-client)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
}

start_redis() {
  local dir="$state/redis" port
  mkdir -p "$dir"
  port="$(cat "$dir/port" 2>/dev/null || true)"
  if [ -n "$port" ] && [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true)" = PONG ]; then
    echo "redis://127.0.0.1:$port/0"; return
  fi
  port="$(free_port)"
  redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" \
    --logfile "$dir/redis.log" --save "" --appendonly no --protected-mode yes >/dev/null
  for _ in $(seq "$wait_steps"); do
    if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true)" = PONG ]; then
      echo "$port" >"$dir/port"; echo "redis://127.0.0.1:$port/0"; return
    fi
    sleep 0.1
  done
  log "redis did not answer on port $port (log: $dir/redis.log)"; return 1
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  local bin dir="$state/pg" port
  bin="$(pg_bindir)"
  if [ "$(id -u)" = 0 ]; then install -d -o postgres -g postgres -m 700 "$dir"; else mkdir -p -m 700 "$dir"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_postgres "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
      || { log "initdb failed (log: $dir/initdb.log)"; return 1; }
  fi
  port="$(cat "$dir/port" 2>/dev/null || true)"
  if [ -z "$port" ] || ! pg_isready -q -h 127.0.0.1 -p "$port"; then
    port="$(free_port)"
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o \
      "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null \
      || { log "postgres did not start (log: $dir/server.log)"; return 1; }
    as_postgres sh -c "echo $port >'$dir/port'"
  fi
  if ! psql -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$dbname'" \
      | grep -q 1; then
    psql -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE $dbname" >/dev/null
  fi
  echo "postgresql://postgres@127.0.0.1:$port/$dbname"
}

stop_all() {
  local port
  port="$(cat "$state/redis/port" 2>/dev/null || true)"
  [ -n "$port" ] && redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  if [ -f "$state/pg/data/postmaster.pid" ] && bin="$(pg_bindir)"; then
    as_postgres "$bin/pg_ctl" -D "$state/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -f "$envfile"
}

main() {
  case "${1:-start}" in
    stop) stop_all; return ;;
    start) ;;
    *) log "usage: scripts/services.sh [start|stop]"; return 2 ;;
  esac
  local redis_url="${CASCADEFLOW_TEST_REDIS_URL:-}" pg_url="${CASCADEFLOW_TEST_POSTGRES_URL:-}"
  if [ -z "$redis_url" ] || [ -z "$pg_url" ]; then ensure_packages; fi
  mkdir -p "$state" "$repo/.cache"
  [ -n "$redis_url" ] || redis_url="$(start_redis)"
  [ -n "$pg_url" ] || pg_url="$(start_postgres)"
  printf 'CASCADEFLOW_TEST_REDIS_URL=%s\nCASCADEFLOW_TEST_POSTGRES_URL=%s\n' "$redis_url" "$pg_url" >"$envfile"
  log "redis $redis_url, postgres $pg_url (written to .cache/services.env)"
}

main "$@"
