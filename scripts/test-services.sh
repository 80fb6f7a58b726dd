#!/usr/bin/env bash
# Starts (or finds) the real Redis and RabbitMQ the test suite needs, on loopback.
#   scripts/test-services.sh up    install missing Debian packages (as root), start what is not
#                                  already answering, record what this script started (dev-stack.sh)
#   scripts/test-services.sh up-private  the same, but always starts its own Redis and RabbitMQ on
#                                  free loopback ports, with their own node name and data dirs, and
#                                  never uses a server it did not start (npm test, npm run bench):
#                                  a start whose port another server answers on is stopped and made
#                                  again on other ports, up to 3 times (up-private-once is one start)
#   scripts/test-services.sh down [redis] [rabbitmq]  stop what `up` started (all of it by default)
# Ports: REDIS_PORT (6379), RABBITMQ_PORT (5672) for `up`; `up-private` picks free ones. State lives in
# .test-services/ (SERVICES_STATE_DIR; scripts/dev-stack.sh keeps its own). SERVICES_ONLY=1 installs
# only redis-server and rabbitmq-server.
set -euo pipefail
cd "$(dirname "$0")/.."
state="${SERVICES_STATE_DIR:-$PWD/.test-services}"
redis_port="${REDIS_PORT:-6379}"
rabbit_port="${RABBITMQ_PORT:-5672}"
private=""
# RabbitMQ's distribution port is its port + this: its default for `up`; `up-private` picks 4000,
# as 20000 would put the distribution port among the ephemeral ports (free-ports.sh).
dist_offset=20000

rabbit_node() { echo "iris-test-${rabbit_port}@localhost"; }
rabbit_dir() { echo "/var/tmp/iris-test-rabbitmq-$1"; }

log() { echo "[test-services] $*" >&2; }

# port_open, free_ports: the ranges and why they lie below the ephemeral ports.
source scripts/free-ports.sh

wait_port() { # port seconds
  local deadline=$((SECONDS + $2))
  until port_open "$1"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

ensure_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
  if [ -z "${SERVICES_ONLY:-}" ]; then # what the tests need besides the two services
    command -v qpdf >/dev/null || missing+=(qpdf)
    command -v pdftotext >/dev/null || missing+=(poppler-utils)
    command -v chromium >/dev/null || missing+=(chromium)
    # Validates docker-compose.yml in the tests (`docker-compose config`; needs no Docker engine).
    command -v docker-compose >/dev/null || missing+=(docker-compose)
    # A private S3 server (Ceph RGW) for the report-store tests: scripts/s3-server.sh.
    command -v ceph-mon >/dev/null || missing+=(ceph-mon)
    command -v ceph-osd >/dev/null || missing+=(ceph-osd)
    command -v radosgw >/dev/null || missing+=(radosgw)
    command -v ceph >/dev/null || missing+=(ceph-common)
    # Separate network hosts (test/faults/separate-hosts.test.ts): namespaces and veth links, and
    # nginx as the load balancer in front of two web processes.
    command -v ip >/dev/null || missing+=(iproute2)
    command -v nginx >/dev/null || missing+=(nginx)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    log "missing ${missing[*]} and not root: install them with apt-get"; exit 1
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  # Debian's maintainer scripts start the daemons they install (nginx, redis-server,
  # rabbitmq-server) as system services; the tests start their own, so a policy-rc.d that forbids
  # every start (exit 101) is in place during the install, unless the machine has one already
  # (then it is left as it is).
  local policy=/usr/sbin/policy-rc.d own_policy="" rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# scripts/test-services.sh: no service starts during its install\nexit 101\n' >"$policy"
    chmod 755 "$policy"; own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  [ -z "$own_policy" ] || rm -f "$policy"
  [ $rc -eq 0 ] || { log "apt-get install failed ($rc)"; exit $rc; }
}

# Exit status of a private start that failed on its port (taken before the daemon bound it, or
# answered by another server): `up-private` tries again on other ports.
PORT_TROUBLE=75

# Whether the daemon listening on `port` is the one whose pid is in `pidfile`: a port taken between
# the check and the start is another server's, and the tests must never use one they did not start.
listener_is() { # port pidfile
  local pid
  pid="$(cat "$2" 2>/dev/null)" && [ -n "$pid" ] && ss -ltnpH "sport = :$1" 2>/dev/null | grep -q "pid=$pid,"
}
owned_within() { # seconds port pidfile
  local deadline=$((SECONDS + $1))
  until listener_is "$2" "$3"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

start_redis() {
  if port_open "$redis_port"; then
    [ -z "$private" ] || { log "port $redis_port is taken: not starting a private redis there"; exit $PORT_TROUBLE; }
    log "redis already on :$redis_port"; return
  fi
  mkdir -p "$state/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$state/redis" --daemonize yes --pidfile "$state/redis/redis.pid" \
    --logfile "$state/redis/redis.log"
  if ! wait_port "$redis_port" 20; then
    log "redis did not start"; cat "$state/redis/redis.log" >&2
    exit "$([ -n "$private" ] && echo $PORT_TROUBLE || echo 1)"
  fi
  if [ -n "$private" ] && ! owned_within 5 "$redis_port" "$state/redis/redis.pid"; then
    log "port $redis_port answers, but not the redis this script started"
    kill "$(cat "$state/redis/redis.pid" 2>/dev/null)" 2>/dev/null || true
    exit $PORT_TROUBLE
  fi
  echo "$redis_port" > "$state/redis.started"; started+=(redis)
  log "started redis on :$redis_port"
}

start_rabbit() {
  if port_open "$rabbit_port"; then
    [ -z "$private" ] || { log "port $rabbit_port is taken: not starting a private rabbitmq there"; stop_all "${started[@]}"; exit $PORT_TROUBLE; }
    log "rabbitmq already on :$rabbit_port"; return
  fi
  # The Debian wrapper drops to the rabbitmq user, so its files must be that user's and every
  # parent directory must let it through: a checkout under a private (0700) directory does not,
  # so the broker's data lives under /var/tmp, fresh for each start.
  local dir node
  dir="$(rabbit_dir "$rabbit_port")"; node="$(rabbit_node)"
  rm -rf "$dir"
  mkdir -p "$dir"
  id rabbitmq >/dev/null 2>&1 && chown -R rabbitmq:rabbitmq "$dir"
  export RABBITMQ_NODENAME="$node" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$rabbit_port" RABBITMQ_DIST_PORT=$((rabbit_port + dist_offset)) \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_PID_FILE="$dir/rabbit.pid" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq"
  echo "[]." > "$dir/enabled_plugins"
  id rabbitmq >/dev/null 2>&1 && chown rabbitmq:rabbitmq "$dir/enabled_plugins"
  echo "$node" > "$state/rabbitmq.started"; echo "$rabbit_port" > "$state/rabbitmq.port"; started+=(rabbitmq)
  rabbitmq-server -detached >/dev/null 2>&1 || true
  if ! wait_port "$rabbit_port" 90; then
    log "rabbitmq did not start"; cat "$dir"/log/*.log >&2 2>/dev/null || true
    stop_all "${started[@]}" # leave nothing behind that this call started
    exit "$([ -n "$private" ] && echo $PORT_TROUBLE || echo 1)"
  fi
  if [ -n "$private" ] && ! owned_within 30 "$rabbit_port" "$dir/rabbit.pid"; then
    log "port $rabbit_port answers, but not the rabbitmq this script started"
    stop_all "${started[@]}"
    exit $PORT_TROUBLE
  fi
  log "started rabbitmq $node on :$rabbit_port"
}

stop_all() { # [redis] [rabbitmq]: which to stop; default both
  local which="${*:-redis rabbitmq}"
  if [[ " $which " == *" redis "* ]] && [ -f "$state/redis.started" ]; then
    kill "$(cat "$state/redis/redis.pid")" 2>/dev/null || true
    rm -f "$state/redis.started"; log "stopped redis"
  fi
  if [[ " $which " == *" rabbitmq "* ]] && [ -f "$state/rabbitmq.started" ]; then
    rabbitmqctl -n "$(cat "$state/rabbitmq.started")" stop >/dev/null 2>&1 || true
    rm -rf "$(rabbit_dir "$(cat "$state/rabbitmq.port" 2>/dev/null || echo "$rabbit_port")")"
    rm -f "$state/rabbitmq.started" "$state/rabbitmq.port"; log "stopped rabbitmq"
  fi
}

started=()
case "${1:-}" in
  up-private)
      # Each start on ports of its own; one that failed on its ports has stopped what it started.
      for attempt in 1 2 3; do
        rc=0; bash scripts/test-services.sh up-private-once || rc=$?
        [ $rc -eq $PORT_TROUBLE ] || exit $rc
        [ $attempt -lt 3 ] && log "start $attempt of 3 failed on its ports (above); trying again on others"
      done
      exit 1 ;;
  up|up-private-once)
      if [ "$1" = up-private-once ]; then
        private=1 dist_offset=4000
        redis_port="$(free_ports 16000 19000)"
        rabbit_port="$(free_ports 25000 28500 1 127.0.0.1 "$dist_offset")"
      fi
      ensure_packages; mkdir -p "$state"; start_redis; start_rabbit
      echo "REDIS_URL=redis://127.0.0.1:$redis_port"
      echo "RABBITMQ_URL=amqp://guest:guest@127.0.0.1:$rabbit_port"
      # The node name lets fault-injection tests stop and start the broker (rabbitmqctl -n).
      # Empty when the broker was already running: rabbitmqctl then uses its default node.
      echo "RABBITMQ_NODE=$(cat "$state/rabbitmq.started" 2>/dev/null || true)"
      echo "STARTED=${started[*]}" ;;
  down) shift; stop_all "$@" ;;
  *) echo "usage: $0 up|up-private|down" >&2; exit 2 ;;
esac
