#!/usr/bin/env bash
# `npm run bench`: every benchmark prints its result as a ratio to a baseline measured in the same run,
# on this machine. Results are written to bench-results/<date>.json; BENCHMARKS.md records them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The cluster suite, and e2e with BENCH_TEMPORAL=cluster, need PostgreSQL and the Temporal binaries
# (scripts/cluster/setup.sh).
needs_cluster="${BENCH_TEMPORAL:-}"
for arg in "$@"; do [ "$arg" = cluster ] && needs_cluster=cluster; done
if [ "$needs_cluster" = cluster ]; then bash scripts/cluster/setup.sh; fi
exec node --expose-gc dist/bench/run.js "$@"
