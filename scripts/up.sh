#!/usr/bin/env bash
# Brings the whole system up on embedded defaults (see README). Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/scripts/up.js
