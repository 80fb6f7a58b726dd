#!/usr/bin/env bash
# The docker-compose.yml shape as local processes, for a machine without Docker:
#   scripts/dev-stack.sh up [--workers N]  redis-server and rabbitmq-server on loopback (started only
#                                          when nothing answers on their ports; installed from Debian's
#                                          packages when missing, as root), then the web process and
#                                          N workers (default 1) in the background
#   scripts/dev-stack.sh status            what runs, and the web's /readyz
#   scripts/dev-stack.sh down              stops what `up` started, and nothing else
# Ports: PORT (web, 8080), REDIS_PORT (6379), RABBITMQ_PORT (5672). Pid and log files live in
# .dev-stack/ (DEV_STACK_DIR). Every variable of README "Configuration" passes through.
set -euo pipefail
dir="$(realpath -m "${DEV_STACK_DIR:-$(dirname "$0")/../.dev-stack}")"
cd "$(dirname "$0")/.."
# The Node options of `npm run web` and `npm run worker` (see BENCHMARKS.md: memory).
web_flags=(--v8-pool-size=1)
worker_flags=(--max-semi-space-size=4 --v8-pool-size=1)
web_entry="dist/app/main.js"
worker_entry="dist/tasks/main.js"

log() { echo "[dev-stack] $*" >&2; }
usage() { echo "usage: $0 up [--workers N] | status | down" >&2; exit 2; }

# True when the pid in $1 runs the entry $2 (a recycled pid running something else is not ours).
ours() {
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && ps -o args= -p "$pid" 2>/dev/null | grep -q -- "$2"
}

entry_of() { case "$(basename "$1")" in web.pid) echo "$web_entry" ;; *) echo "$worker_entry" ;; esac; }

http_ok() { # url: exit 0 when it answers 2xx (node: no curl needed)
  node -e "fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" "$1"
}

start() { # name entry [VAR=value…]: starts `node entry` in the background
  local name="$1" entry="$2"
  shift 2
  # nohup + own log file: the process outlives this script and its terminal.
  local flags=("${worker_flags[@]}")
  [ "$entry" = "$web_entry" ] && flags=("${web_flags[@]}")
  env "$@" nohup node "${flags[@]}" "$entry" >>"$dir/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/$name.pid"
  log "started $name (pid $!), log: $dir/logs/$name.log"
}

wait_for() { # seconds description command…
  local deadline=$((SECONDS + $1)) what="$2"
  shift 2
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then log "timed out waiting for $what"; return 1; fi
    sleep 0.3
  done
}

up() {
  local workers=1
  while [ $# -gt 0 ]; do
    case "$1" in
      --workers) workers="${2:-}"; shift 2 || usage ;;
      --workers=*) workers="${1#*=}"; shift ;;
      *) usage ;;
    esac
  done
  [[ "$workers" =~ ^[0-9]+$ ]] || { log "--workers needs a whole number"; exit 2; }
  for f in "$dir"/*.pid; do
    if [ -f "$f" ] && ours "$f" "$(entry_of "$f")"; then log "already up: see '$0 status', or '$0 down' first"; exit 1; fi
  done
  mkdir -p "$dir/logs"
  rm -f "$dir"/*.pid

  local key value redis_url="" rabbit_url=""
  while IFS='=' read -r key value; do
    case "$key" in REDIS_URL) redis_url="$value" ;; RABBITMQ_URL) rabbit_url="$value" ;; esac
  done < <(SERVICES_STATE_DIR="$dir/services" SERVICES_ONLY=1 bash scripts/test-services.sh up)

  local port="${PORT:-8080}"
  echo "$port" >"$dir/web.port"
  local common=(RABBITMQ_URL="$rabbit_url" REDIS_URL="$redis_url" HOST="${HOST:-127.0.0.1}")
  # The processes run the compiled JavaScript, as in the image: build it from the sources first.
  npm run --silent build
  start web "$web_entry" "${common[@]}" PORT="$port"
  if ! wait_for 60 "the web process to be ready" http_ok "http://127.0.0.1:$port/readyz"; then
    tail -n 20 "$dir/logs/web.log" >&2
    down
    exit 1
  fi
  for i in $(seq 1 "$workers"); do
    # One health port cannot serve several local workers: that variable is for containers only.
    start "worker-$i" "$worker_entry" "${common[@]}" WORKER_HEALTH_PORT=
  done
  for i in $(seq 1 "$workers"); do
    if ! wait_for 60 "worker-$i" grep -q '"msg":"worker ready"' "$dir/logs/worker-$i.log"; then
      tail -n 20 "$dir/logs/worker-$i.log" >&2
      down
      exit 1
    fi
  done
  log "up: web on http://127.0.0.1:$port with $workers worker(s); '$0 status' · '$0 down'"
}

status() {
  local running=0 f name
  for f in "$dir"/web.pid "$dir"/worker-*.pid; do
    [ -f "$f" ] || continue
    name="$(basename "$f" .pid)"
    if ours "$f" "$(entry_of "$f")"; then
      echo "$name: running (pid $(cat "$f"))"
      running=$((running + 1))
    else
      echo "$name: not running"
    fi
  done
  for f in "$dir"/services/*.started; do
    [ -f "$f" ] && echo "$(basename "$f" .started): started by this stack"
  done
  if [ -f "$dir/web.port" ] && ours "$dir/web.pid" "$web_entry"; then
    local port
    port="$(cat "$dir/web.port")"
    echo "web: http://127.0.0.1:$port"
    node -e "fetch(process.argv[1]).then(async (r) => console.log('readyz: ' + r.status + ' ' + (await r.text())), (e) => console.log('readyz: ' + e.message))" \
      "http://127.0.0.1:$port/readyz"
  fi
  [ "$running" -gt 0 ] || { echo "the dev stack is not running"; return 3; }
}

# True once pid $1 has exited (a zombie not yet reaped by its new parent counts as exited).
gone() { ! kill -0 "$1" 2>/dev/null || ps -o stat= -p "$1" 2>/dev/null | grep -q '^Z'; }

stop_all() { # pidfile…: SIGTERM to each of ours, then wait for all of them together
  local f pid pids=() names=()
  for f in "$@"; do
    [ -f "$f" ] || continue
    if ours "$f" "$(entry_of "$f")"; then
      pid="$(cat "$f")"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
      names+=("$(basename "$f" .pid)")
    fi
    rm -f "$f"
  done
  local i deadline=$((SECONDS + 40)) # a worker finishes the job in hand; its own limit is 30 s
  for i in "${!pids[@]}"; do
    until gone "${pids[$i]}"; do
      if [ $SECONDS -ge $deadline ]; then kill -KILL "${pids[$i]}" 2>/dev/null || true; break; fi
      sleep 0.1
    done
    log "stopped ${names[$i]} (pid ${pids[$i]})"
  done
}

down() {
  # The web first (no new submissions), then the workers (each finishes what it holds).
  stop_all "$dir/web.pid"
  stop_all "$dir"/worker-*.pid
  rm -f "$dir/web.port"
  SERVICES_STATE_DIR="$dir/services" bash scripts/test-services.sh down
}

case "${1:-}" in
  up) shift; up "$@" ;;
  status) status ;;
  down) down ;;
  *) usage ;;
esac
