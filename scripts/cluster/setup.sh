#!/usr/bin/env bash
# Installs what the local Temporal cluster needs, idempotently, on top of scripts/setup.sh:
#   - PostgreSQL from Debian's `postgresql` package, when no /usr/lib/postgresql/*/bin/initdb exists
#     (--no-upgrade: shared packages already installed are left as they are);
#   - temporal-server, temporal-sql-tool and ui-server at pinned versions (scripts/cluster/build.sh).
# Nothing is downloaded at run time after this.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "cluster setup: PostgreSQL is missing; install Debian's postgresql package (apt-get install postgresql) and run again" >&2
    exit 1
  fi
  echo "cluster setup: installing PostgreSQL (apt-get install postgresql)"
  # Only the private cluster this project starts is wanted, not a system-wide one on port 5432.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/itk3-no-main-cluster.conf
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade postgresql >/dev/null
fi
bash scripts/cluster/build.sh
