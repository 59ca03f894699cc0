#!/usr/bin/env bash
# `npm run bench`: every benchmark prints its result as a ratio to a baseline measured in the same run,
# on this machine. Results are written to bench-results/<date>.json; BENCHMARKS.md records them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --expose-gc dist/bench/run.js "$@"
