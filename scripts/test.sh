#!/usr/bin/env bash
# npm test: start (or find) real Redis and RabbitMQ on loopback, run every test file with
# Node's test runner, then stop only what was started here.
set -euo pipefail
cd "$(dirname "$0")/.."
TEST_STARTED=""
trap 'bash scripts/test-services.sh down $TEST_STARTED' EXIT
# Not a process substitution: if the services cannot start, the run stops here (up has already
# stopped whatever it started).
services="$(bash scripts/test-services.sh up-private)"
while IFS='=' read -r key value; do
  export "TEST_$key=$value"
done <<<"$services"
# Only what this run started is stopped at the end; services that were already up stay up.
[ -n "$TEST_STARTED" ] || trap - EXIT
# Static checks first: types (strict) and lint (including the tasks/ → app/ import ban); then the
# build, since the process tests start the compiled entries, like production does.
npx tsc --noEmit -p .
npx eslint .
bash scripts/build.sh
mapfile -t files < <(find test -name '*.test.ts' | sort)
if [ $# -gt 0 ]; then files=("$@"); fi
# One file at a time: fault-injection tests stop the shared broker and kill Redis connections.
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
