#!/usr/bin/env bash
# The browser tests: the Temporal Web UI in Debian's Chromium (driven by playwright-core) against the
# system as `npm run up` starts it. Installs what is missing first: the project set-up, the pinned
# ui-server, and the `chromium` package (apt-get; playwright's own browser download is not used).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/cluster/build.sh ui-server
if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "browser tests: installing Debian's chromium package"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# The state of the system under test in one scratch directory, removed when the run passes (the
# screenshots go to test-artifacts/ and stay).
source scripts/lib/scratch.sh; itk3_scratch browser-test
npx jest --selectProjects browser --ci --runInBand "$@"
