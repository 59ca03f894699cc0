#!/usr/bin/env bash
# The cluster suite on a fresh clone: installs and builds what the local Temporal cluster needs
# (scripts/cluster/setup.sh: PostgreSQL, temporal-server, temporal-sql-tool, ui-server), then runs the
# jest project `cluster` (test/cluster) one file at a time. Each test file starts its own cluster on
# free ports in a temporary directory, so a running `npm run cluster` or `npm run up` is not disturbed.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
bash scripts/cluster/setup.sh
echo "== cluster set-up took $(( $(date +%s) - start )) s"
echo "== cluster tests (real Temporal cluster on PostgreSQL)"
npx jest --selectProjects cluster --ci --runInBand "$@"
echo "== cluster suite took $(( $(date +%s) - start )) s in all"
