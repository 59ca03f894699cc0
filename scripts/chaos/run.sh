#!/usr/bin/env bash
# `npm run chaos [-- name ...]`: the reliability runs (kill-worker, restart-temporal, mesh-faults), one
# at a time, each ending with a VERDICT line; exit status non-zero if any run fails. Long: minutes each.
set -uo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh >/dev/null
runs=("$@")
[ ${#runs[@]} -eq 0 ] && runs=(kill-worker restart-temporal mesh-faults)
status=0
for run in "${runs[@]}"; do
  echo "== chaos: $run"
  node "dist/scripts/chaos/$run.js" || status=1
done
exit $status
