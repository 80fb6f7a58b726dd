#!/usr/bin/env bash
# npm run build: compiles app/ and tasks/ to dist/ (plain JavaScript, what production runs) and
# copies what the code reads at run time beside it: templates, static files, the trained model.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist
npx tsc -p tsconfig.build.json
cp -r templates dist/templates
cp -r app/static dist/app/static
cp tasks/model/iris-model.json dist/tasks/model/iris-model.json
