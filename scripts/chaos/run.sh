#!/usr/bin/env bash
# `npm run chaos [-- name ...]`: the reliability runs (kill-worker, restart-temporal, mesh-faults), one
# at a time, each ending with a VERDICT line; exit status non-zero if any run fails. Long: minutes each.
# `npm run chaos -- cluster` runs the four faults on a real Temporal cluster instead (cluster-runs.ts;
# it needs scripts/cluster/setup.sh first, which it runs).
set -uo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh >/dev/null
runs=("$@")
[ ${#runs[@]} -eq 0 ] && runs=(kill-worker restart-temporal mesh-faults)
status=0
for run in "${runs[@]}"; do
  echo "== chaos: $run"
  if [ "$run" = cluster ]; then
    bash scripts/cluster/setup.sh >/dev/null && node dist/scripts/chaos/cluster-runs.js || status=1
  else
    node "dist/scripts/chaos/$run.js" || status=1
  fi
done
exit $status
