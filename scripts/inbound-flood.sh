#!/usr/bin/env bash
# Inbound flood proof at full size: N responses (default 1,000) waiting at once in our MESH inbox for N
# waiting deliveries, drained by the real poller through the real sandbox. The test suite runs the same
# test with 200 to stay short on 2 cores; this runs it as specified. About 4 minutes on 2 cores.
#   bash scripts/inbound-flood.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
ITK3_FLOOD_COUNT="${1:-1000}" exec npx jest --selectProjects integration --runInBand test/e2e/inbound-flood.test.ts
