#!/usr/bin/env bash
# Test services for promptctl: a throwaway PostgreSQL cluster and an Unleash server on 127.0.0.1.
#
#   bash .ci/services.sh start    # install if needed, start both, print `export ...` lines
#   bash .ci/services.sh env      # print the exports of the running services again
#   bash .ci/services.sh stop     # stop both and delete the throwaway data
#
# Developers:  eval "$(bash .ci/services.sh start)" && .venv/bin/python -m pytest
# CI (.ci/run) does the same and stops the services on exit.
#
# Everything lives in the clone: npm packages in .ci/unleash/node_modules, state (pids, logs,
# the exports) in .ci/.state/. Only the PostgreSQL data dir is a mktemp dir, because the server
# runs as the unprivileged `postgres` user when we are root and must be able to reach it.
# Logs go to stderr and .ci/.state/*.log; stdout carries only the exports.
#
# Versions: Debian's `postgresql` (15 on bookworm); unleash-server 7.x, pinned to 7.5.x in
# .ci/unleash/package.json because 7.6+ needs Node 22 and this machine has Node 20; exact
# versions come from .ci/unleash/package-lock.json (`npm ci`).
set -euo pipefail

CI_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE="$CI_DIR/.state"
UNLEASH_DIR="$CI_DIR/unleash"
ENV_FILE="$STATE/env.sh"
PG_USER=postgres
PG_DB=promptctl
UNLEASH_DB=unleash
# Tokens for a throwaway server on loopback: fixed so a developer can reuse them.
ADMIN_TOKEN="*:*.promptctl-ci-admin-token"
CLIENT_TOKEN="*:development.promptctl-ci-client-token"
UNLEASH_WAIT_S="${UNLEASH_WAIT_S:-240}"

log() { echo "[services] $*" >&2; }
die() { log "error: $*"; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

healthy() {
  # curl is not on every fresh machine; python3 is.
  python3 -c 'import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null
}

as_pg_owner() {
  # Run a PostgreSQL server binary as a non-root user (postgres refuses to run as root).
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$PG_USER" -- "$@"
  else
    "$@"
  fi
}

pg_bin_dir() {
  local initdb
  initdb="$(command -v initdb 2>/dev/null || true)"
  if [ -z "$initdb" ]; then
    initdb="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1 || true)"
  fi
  [ -n "$initdb" ] && dirname "$(readlink -f "$initdb")"
}

install_postgres() {
  if [ -n "$(pg_bin_dir)" ]; then
    return
  fi
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed; run as root or: apt-get install postgresql"
  log "installing PostgreSQL from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  # The package starts its own cluster on 5432; ours is separate, so stop that one.
  (command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
     pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true; done) || true
  [ -n "$(pg_bin_dir)" ] || die "PostgreSQL install did not provide initdb"
}

start_postgres() {
  local bin port datadir
  bin="$(pg_bin_dir)"
  if [ "$(id -u)" = 0 ] && ! id "$PG_USER" >/dev/null 2>&1; then
    useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_USER"
  fi
  datadir="$(mktemp -d "${TMPDIR:-/tmp}/promptctl-pg.XXXXXX")"
  [ "$(id -u)" = 0 ] && chown "$PG_USER" "$datadir"
  echo "$datadir" > "$STATE/pg.datadir"
  port="${PROMPTCTL_PG_PORT:-$(free_port)}"
  log "PostgreSQL: initdb in $datadir"
  as_pg_owner "$bin/initdb" -D "$datadir/data" -U "$PG_USER" --auth=trust -E UTF8 --no-locale \
    >"$STATE/pg-initdb.log" 2>&1 || { cat "$STATE/pg-initdb.log" >&2; die "initdb failed"; }
  # A throwaway cluster: durability off for speed; room for many per-test databases.
  as_pg_owner "$bin/pg_ctl" -D "$datadir/data" -l "$datadir/server.log" -w -t 60 start \
    -o "-h 127.0.0.1 -p $port -k $datadir -c fsync=off -c synchronous_commit=off \
        -c full_page_writes=off -c max_connections=300" >&2 \
    || { cat "$datadir/server.log" >&2; die "PostgreSQL did not start"; }
  echo "$port" > "$STATE/pg.port"
  for db in "$PG_DB" "$UNLEASH_DB"; do
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$PG_USER" "$db"
  done
  log "PostgreSQL listening on 127.0.0.1:$port"
}

install_unleash() {
  command -v npm >/dev/null || die "npm is required for the Unleash server (apt-get install npm)"
  if [ -d "$UNLEASH_DIR/node_modules/unleash-server" ] \
     && [ -d "$UNLEASH_DIR/node_modules/@unleash/client-specification" ]; then
    return
  fi
  log "installing unleash-server and @unleash/client-specification from npm"
  (cd "$UNLEASH_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
}

start_unleash() {
  local port pg_port
  pg_port="$(cat "$STATE/pg.port")"
  port="${PROMPTCTL_UNLEASH_PORT:-$(free_port)}"
  log "Unleash: starting on 127.0.0.1:$port"
  (
    cd "$UNLEASH_DIR"
    export DATABASE_URL="postgres://$PG_USER@127.0.0.1:$pg_port/$UNLEASH_DB"
    export DATABASE_SSL=false HTTP_HOST=127.0.0.1 HTTP_PORT="$port"
    export INIT_ADMIN_API_TOKENS="$ADMIN_TOKEN" INIT_BACKEND_API_TOKENS="$CLIENT_TOKEN"
    # Loopback only: no version check, no telemetry.
    export CHECK_VERSION=false SEND_TELEMETRY=false LOG_LEVEL=warn
    exec setsid node node_modules/unleash-server/dist/server.js
  ) >"$STATE/unleash.log" 2>&1 </dev/null &
  echo $! > "$STATE/unleash.pid"
  echo "$port" > "$STATE/unleash.port"
  local deadline=$((SECONDS + UNLEASH_WAIT_S))
  until healthy "http://127.0.0.1:$port/health"; do
    if ! kill -0 "$(cat "$STATE/unleash.pid")" 2>/dev/null; then
      tail -50 "$STATE/unleash.log" >&2; die "Unleash exited during start"
    fi
    [ "$SECONDS" -lt "$deadline" ] || { tail -50 "$STATE/unleash.log" >&2; die "Unleash not healthy"; }
    sleep 1
  done
  log "Unleash healthy on 127.0.0.1:$port"
}

write_env() {
  local pg_port unleash_port
  pg_port="$(cat "$STATE/pg.port")"
  unleash_port="$(cat "$STATE/unleash.port")"
  {
    echo "export PROMPTCTL_TEST_PG='postgresql+psycopg://$PG_USER@127.0.0.1:$pg_port/$PG_DB'"
    echo "export PROMPTCTL_TEST_UNLEASH_URL='http://127.0.0.1:$unleash_port/api'"
    echo "export PROMPTCTL_TEST_UNLEASH_ADMIN_TOKEN='$ADMIN_TOKEN'"
    echo "export PROMPTCTL_TEST_UNLEASH_CLIENT_TOKEN='$CLIENT_TOKEN'"
    echo "export PROMPTCTL_TEST_CLIENT_SPEC='$UNLEASH_DIR/node_modules/@unleash/client-specification/specifications'"
  } > "$ENV_FILE"
}

stop_services() {
  if [ -f "$STATE/unleash.pid" ]; then
    local pid
    pid="$(cat "$STATE/unleash.pid")"
    # setsid made the server its own process group: end exactly that group.
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 -- "-$pid" 2>/dev/null || true
    rm -f "$STATE/unleash.pid"
    log "Unleash stopped"
  fi
  if [ -f "$STATE/pg.datadir" ]; then
    local datadir bin
    datadir="$(cat "$STATE/pg.datadir")"
    bin="$(pg_bin_dir || true)"
    if [ -n "$bin" ] && [ -f "$datadir/data/postmaster.pid" ]; then
      as_pg_owner "$bin/pg_ctl" -D "$datadir/data" -m immediate -w stop >&2 || true
    fi
    case "$datadir" in */promptctl-pg.*) rm -rf "$datadir" ;; esac
    rm -f "$STATE/pg.datadir" "$STATE/pg.port"
    log "PostgreSQL stopped"
  fi
  rm -f "$ENV_FILE"
}

running() {
  # Both services of the last start are still up (a reboot or a kill leaves stale state).
  [ -f "$ENV_FILE" ] && [ -f "$STATE/unleash.pid" ] && kill -0 "$(cat "$STATE/unleash.pid")" 2>/dev/null \
    && healthy "http://127.0.0.1:$(cat "$STATE/unleash.port")/health" \
    && [ -f "$(cat "$STATE/pg.datadir" 2>/dev/null)/data/postmaster.pid" ]
}

start_services() {
  mkdir -p "$STATE"
  if running; then
    log "services already running (run '$0 stop' first to restart); their exports:"
    cat "$ENV_FILE"
    return
  fi
  stop_services  # whatever a dead or half-finished start left behind
  # Until both are up, any failure stops what did start: no stray server outlives a failed start.
  trap 'stop_services' EXIT
  install_postgres
  install_unleash
  start_postgres
  start_unleash
  write_env
  trap - EXIT
  cat "$ENV_FILE"
}

case "${1:-}" in
  start) start_services ;;
  stop) stop_services ;;
  env) [ -f "$ENV_FILE" ] && cat "$ENV_FILE" || die "services are not running" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
