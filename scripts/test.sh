#!/usr/bin/env bash
# The full test suite on a fresh clone: installs what is missing, then typecheck, lint, unit and
# workflow tests, and the integration/e2e tests against a real Temporal dev server and mesh-sandbox
# (started by jest's global setup on free loopback ports, so a running `npm run up` is not disturbed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Every temporary directory of the run in one, removed when the run passes (kept, and named, when not).
source scripts/lib/scratch.sh; itk3_scratch test
echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== lint"; npx eslint .
echo "== unit and workflow tests"; npx jest --selectProjects unit workflows --ci "$@"
echo "== integration and end-to-end tests (real Temporal, real mesh-sandbox)"; npx jest --selectProjects integration --ci --runInBand "$@"
