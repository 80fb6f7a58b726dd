#!/bin/bash
# Entrypoint of the minio/minio stand-in (minio.Containerfile; NOT MinIO): `server DIR` starts a
# single-node Ceph RGW on 0.0.0.0:9000 with the configuration of scripts/s3-server.sh
# (scripts/ceph-conf.sh, copied into the image) and an S3 user with MINIO_ROOT_USER and
# MINIO_ROOT_PASSWORD as its keys. SIGTERM stops it.
set -euo pipefail
[ "${1:-}" = minio ] && shift
if [ "${1:-}" != server ] || [ -z "${2:-}" ]; then
  echo "minio stand-in: usage: server DIR (this is Ceph RGW standing in for MinIO)" >&2
  exit 2
fi
user=${MINIO_ROOT_USER:-}
password=${MINIO_ROOT_PASSWORD:-}
# MinIO refuses these too (access key of 3 or more characters, secret key of 8 or more).
if [ ${#user} -lt 3 ] || [ ${#password} -lt 8 ]; then
  echo "minio stand-in: MINIO_ROOT_USER (3+ characters) and MINIO_ROOT_PASSWORD (8+) must be set" >&2
  exit 1
fi
state=/run/minio-standin
conf=$state/ceph.conf
rm -rf "$state"
mkdir -p "$state"/{run,log,mon,osd,rgw}
log() { echo "minio stand-in: $*" >&2; }
pids=()
stop() {
  trap - TERM INT
  # Gateway first, then the OSD (no fast shutdown), then the monitor.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  exit 0
}
trap stop TERM INT
fail() {
  log "$1; the last lines of its logs:"
  tail -n 20 "$state"/log/*.log >&2 || true
  exit 1
}
wait_until() { # seconds what command...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for $what"
    sleep 0.1
  done
}
answers_http() {
  (exec 3<>/dev/tcp/127.0.0.1/9000 && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && IFS= read -r -t 2 line <&3 &&
    [[ "$line" == HTTP/* ]]) 2>/dev/null
}

# The configuration of scripts/s3-server.sh (scripts/ceph-conf.sh), with the monitor on Ceph's
# usual port and the gateway on MinIO's.
source /usr/local/lib/ceph-conf.sh
ceph_conf "$state" 3300 6800 6830 0.0.0.0:9000 >"$conf"
fsid=$(ceph_conf_fsid "$conf")

started=$SECONDS
monmaptool --create --addv a "[v2:127.0.0.1:3300]" --fsid "$fsid" "$state/monmap" >/dev/null
ceph-mon -c "$conf" -i a --mkfs --monmap "$state/monmap" >/dev/null 2>&1 || fail "ceph-mon --mkfs failed"
ceph-mon -c "$conf" -i a -f &
pids+=($!)
osd_uuid=$(cat /proc/sys/kernel/random/uuid)
ceph -c "$conf" --connect-timeout 30 osd new "$osd_uuid" >/dev/null || fail "the monitor did not answer"
ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1 || fail "ceph-osd --mkfs failed"
ceph-osd -c "$conf" -i 0 -f 2>>"$state/log/osd.0.stderr" &
pids+=($!)
radosgw -c "$conf" -n client.rgw -f &
pids+=($!)
wait_until 90 "radosgw answering on :9000" answers_http
radosgw-admin -c "$conf" user create --uid=minio-root --display-name="MINIO_ROOT_USER" \
  --access-key="$user" --secret-key="$password" >/dev/null || fail "radosgw-admin user create failed"
touch "$state/ready"
log "Ceph RGW (not MinIO) serving S3 on :9000 in $((SECONDS - started)) s"
# Until SIGTERM, or until a daemon dies (then the container exits non-zero and compose restarts it).
set +e
wait -n
log "a Ceph daemon exited; stopping"
stop_code=1
for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
wait
exit $stop_code
