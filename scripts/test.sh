#!/usr/bin/env bash
# The full test suite on a fresh clone: installs what is missing, then typecheck, lint, unit and
# workflow tests, and the integration/e2e tests against a real Temporal dev server and mesh-sandbox
# (started by jest's global setup on free loopback ports, so a running `npm run up` is not disturbed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== lint"; npx eslint .
echo "== unit and workflow tests"; npx jest --selectProjects unit workflows --ci "$@"
echo "== integration and end-to-end tests (real Temporal, real mesh-sandbox)"; npx jest --selectProjects integration --ci --runInBand "$@"
