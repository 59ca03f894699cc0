#!/usr/bin/env bash
# `npm run bench`: every benchmark prints its result as a ratio to a baseline measured in the same run,
# on this machine. Results are written to bench-results/<date>.json; BENCHMARKS.md records them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The cluster suite needs PostgreSQL and the Temporal binaries (scripts/cluster/setup.sh).
for arg in "$@"; do [ "$arg" = cluster ] && bash scripts/cluster/setup.sh; done
exec node --expose-gc dist/bench/run.js "$@"
