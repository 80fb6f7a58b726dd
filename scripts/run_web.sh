#!/usr/bin/env bash
# The web process on RabbitMQ + Redis (needs RABBITMQ_URL and REDIS_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node dist/app/main.js
