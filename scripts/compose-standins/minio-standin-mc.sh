#!/bin/bash
# Not the MinIO client: the one command the compose file's health check runs, `mc ready local`.
# Ready once the stand-in has created its S3 user and the gateway answers HTTP on :9000.
if [ "$*" != "ready local" ]; then
  echo "mc (minio stand-in): only 'mc ready local' is known here" >&2
  exit 2
fi
[ -e /run/minio-standin/ready ] || exit 1
exec 3<>/dev/tcp/127.0.0.1/9000 || exit 1
printf 'GET / HTTP/1.0\r\n\r\n' >&3
IFS= read -r -t 2 line <&3 && [[ "$line" == HTTP/* ]]
