#!/usr/bin/env bash
# Installs what the local Temporal cluster needs, idempotently, on top of scripts/setup.sh:
#   - PostgreSQL POSTGRES_MAJOR from Debian (postgresql-<major>, what Debian 12's `postgresql` package
#     depends on), when its initdb is missing (--no-upgrade: shared packages already installed stay as they are);
#   - temporal-server, temporal-sql-tool and ui-server at pinned versions (scripts/cluster/build.sh).
# Nothing is downloaded at run time after this.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The compose test checks docker-compose.yml's postgres image against this major version.
POSTGRES_MAJOR=15
bash scripts/setup.sh
if [ ! -x "/usr/lib/postgresql/$POSTGRES_MAJOR/bin/initdb" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "cluster setup: PostgreSQL $POSTGRES_MAJOR is missing; install it (apt-get install postgresql-$POSTGRES_MAJOR) and run again" >&2
    exit 1
  fi
  echo "cluster setup: installing PostgreSQL $POSTGRES_MAJOR (apt-get install postgresql-$POSTGRES_MAJOR)"
  # Only the private cluster this project starts is wanted, not a system-wide one on port 5432.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/itk3-no-main-cluster.conf
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade "postgresql-$POSTGRES_MAJOR" >/dev/null
fi
bash scripts/cluster/build.sh
