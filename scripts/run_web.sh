#!/usr/bin/env bash
# The web process on RabbitMQ + Redis (needs RABBITMQ_URL and REDIS_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --v8-pool-size=1 dist/app/main.js
