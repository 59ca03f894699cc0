#!/usr/bin/env bash
# The cluster suite on a fresh clone: installs and builds what the local Temporal cluster needs
# (scripts/cluster/setup.sh: PostgreSQL, temporal-server, temporal-sql-tool, ui-server), then runs the
# jest project `cluster` (test/cluster) one file at a time. Each test file starts its own cluster on
# free ports in a temporary directory, so a running `npm run cluster` or `npm run up` is not disturbed.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
bash scripts/cluster/setup.sh
# The clusters' PostgreSQL data and logs (about 460 MB for the suite) in one scratch directory, removed
# when the suite passes (kept, and named, when not).
source scripts/lib/scratch.sh; itk3_scratch cluster-test
echo "== cluster set-up took $(( $(date +%s) - start )) s"
echo "== cluster tests (real Temporal cluster on PostgreSQL)"
# --forceExit: every test stops what it starts, but a process that outlives a failed test must not hold
# CI until it is killed; on exit the harness kills the processes it started.
npx jest --selectProjects cluster --ci --runInBand --forceExit "$@"
echo "== cluster suite took $(( $(date +%s) - start )) s in all"
