#!/usr/bin/env bash
# A throwaway single-node S3 server for tests and local runs: Ceph's RADOS Gateway (Debian's
# ceph-mon, ceph-osd, radosgw) on loopback, one monitor, one in-memory OSD (memstore), pool size 1.
#   scripts/s3-server.sh up            install the packages when missing (as root), start a private
#                                      instance on free loopback ports, print its AWS_* variables
#   scripts/s3-server.sh gateway-stop  stop only radosgw (an S3 outage; the OSD keeps the data)
#   scripts/s3-server.sh gateway-start start radosgw again on the same port
#   scripts/s3-server.sh down          stop what `up` started and delete its state
# State (config, pid files, logs) lives in S3_STATE_DIR (default .test-services/s3, git-ignored); each
# instance needs its own. Nothing outside that directory is touched, and no daemon it did not start.
# The gateway listens on S3_BIND_ADDR (default 127.0.0.1; e.g. a network namespace's own address, run
# inside it with `ip netns exec`); the monitor and the OSD stay on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
state="$(realpath -m "${S3_STATE_DIR:-$PWD/.test-services/s3}")"
conf="$state/ceph.conf"
bind="${S3_BIND_ADDR:-127.0.0.1}"
ACCESS_KEY=iris-test-access
SECRET_KEY=iris-test-secret-0123456789abcdef

log() { echo "[s3-server] $*" >&2; }
# The gateway's address, as `up` recorded it.
rgw_addr() { cat "$state/rgw.addr" 2>/dev/null || echo 127.0.0.1; }
# port_open, free_ports: the ranges and why they lie below the ephemeral ports.
source scripts/free-ports.sh
# ceph_conf: the cluster's configuration, shared with the compose file's minio stand-in.
source scripts/ceph-conf.sh
# An HTTP answer (any status) on the port (of 127.0.0.1, or of $2), not just an open socket; no curl needed.
answers_http() {
  (
    exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1" && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && IFS= read -r -t 2 line <&3 &&
      [[ "$line" == HTTP/* ]]
  ) 2>/dev/null
}

ensure_packages() {
  local missing=()
  for bin in ceph-mon:ceph-mon ceph-osd:ceph-osd radosgw:radosgw ceph:ceph-common; do
    command -v "${bin%%:*}" >/dev/null || missing+=("${bin#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then log "missing ${missing[*]} and not root: install them with apt-get"; exit 1; fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

wait_until() { # seconds what command...
  local deadline=$((SECONDS + $1)) what="$2"; shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { log "timed out waiting for $what"; return 1; }
    sleep 0.1
  done
}

write_conf() { # mon_port rgw_port
  ceph_conf "$state" "$1" $(($1 + 1)) $(($1 + 24)) "$bind:$2" >"$conf"
}

start_gateway() {
  local port addr; port="$(cat "$state/rgw.port")"; addr="$(rgw_addr)"
  radosgw -c "$conf" -n client.rgw
  wait_until 60 "radosgw on $addr:$port" port_open "$port" "$addr"
  # Answers S3 (not just the TCP port): an anonymous ListBuckets gets an XML answer.
  wait_until 30 "radosgw answering" answers_http "$port" "$addr"
}

up() {
  ensure_packages
  if [ -f "$state/started" ]; then log "already up in $state"; print_env; return; fi
  # A port checked free can still be taken before a daemon binds it (by another test's daemon, say):
  # a failed start has deleted its state, and the next attempt picks other ports.
  local attempt
  for attempt in 1 2 3; do
    bash scripts/s3-server.sh up-once && return 0
    [ $attempt -lt 3 ] && log "start $attempt of 3 failed (above); trying again on other ports"
  done
  return 1
}

up_once() {
  local started=$SECONDS mon_port rgw_port osd_uuid
  rm -rf "$state"
  mkdir -p "$state"/{run,log,mon,osd,rgw}
  mon_port="$(free_ports 19000 25000 25)"
  rgw_port="$(free_ports 10000 16000 1 "$bind")"
  echo "$rgw_port" >"$state/rgw.port"
  echo "$bind" >"$state/rgw.addr"
  write_conf "$mon_port" "$rgw_port"
  touch "$state/started"
  trap 'down; exit 1' ERR
  monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$(ceph_conf_fsid "$conf")" "$state/monmap" >/dev/null
  ceph-mon -c "$conf" -i a --mkfs --monmap "$state/monmap" >/dev/null 2>&1
  ceph-mon -c "$conf" -i a
  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  ceph -c "$conf" --connect-timeout 20 osd new "$osd_uuid" >/dev/null
  ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1
  ceph-osd -c "$conf" -i 0 2>>"$state/log/osd.0.stderr"
  start_gateway
  radosgw-admin -c "$conf" user create --uid=iris-test --display-name=iris-test \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
  trap - ERR
  log "started radosgw on $bind:$rgw_port (monitor :$mon_port) in $((SECONDS - started)) s"
  print_env
}

print_env() {
  echo "AWS_ENDPOINT_URL_S3=http://$(rgw_addr):$(cat "$state/rgw.port")"
  echo "AWS_ACCESS_KEY_ID=$ACCESS_KEY"
  echo "AWS_SECRET_ACCESS_KEY=$SECRET_KEY"
  echo "AWS_REGION=us-east-1"
}

# Running, not just a zombie: a daemonized process is reaped by whoever adopted it, which can take
# a moment after it has exited and freed its ports.
alive() { local st; st="$(ps -o stat= -p "$1" 2>/dev/null)" && [ -n "$st" ] && [[ "$st" != Z* ]]; }

stop_daemon() { # name [signal]: the daemon of that pid file, stopped (SIGTERM by default) and waited for
  local pidfile="$state/run/$1.pid" pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  kill "-${2:-TERM}" "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
  for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

down() {
  [ -f "$state/started" ] || return 0
  # Its data is deleted next, so nothing needs a clean shutdown.
  stop_daemon client.rgw KILL; stop_daemon osd.0 KILL; stop_daemon mon.a KILL
  rm -rf "$state"
  log "stopped"
}

case "${1:-}" in
  up) up ;;
  up-once) up_once ;;
  gateway-stop) stop_daemon client.rgw ;;
  gateway-start) start_gateway ;;
  down) down ;;
  install) ensure_packages ;;
  *) echo "usage: $0 up|gateway-stop|gateway-start|down|install" >&2; exit 2 ;;
esac
