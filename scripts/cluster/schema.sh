#!/usr/bin/env sh
# Creates or upgrades Temporal's two PostgreSQL databases (the main store and SQL visibility) with
# temporal-sql-tool, idempotently. Used by the local cluster (scripts/lib/cluster.ts) and by the
# temporal-schema service of docker-compose.yml, so both set the schema up the same way.
# Environment: SQL_TOOL (default temporal-sql-tool on PATH), SCHEMA_DIR (the server's
# schema/postgresql/v12 folder), POSTGRES_SEEDS, DB_PORT, POSTGRES_USER, POSTGRES_PWD,
# DBNAME (temporal), VISIBILITY_DBNAME (temporal_visibility).
set -eu
SQL_TOOL="${SQL_TOOL:-temporal-sql-tool}"
: "${SCHEMA_DIR:?SCHEMA_DIR must name the server schema/postgresql/v12 folder}"
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${POSTGRES_PWD:?}"

setup() {
  db="$1"; versioned="$2"
  export SQL_PASSWORD="$POSTGRES_PWD"
  run() { "$SQL_TOOL" --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" -u "$POSTGRES_USER" --db "$db" "$@"; }
  # create-database fails when the database exists; anything else wrong shows up in setup-schema below.
  run create-database >/dev/null 2>&1 || true
  # Version 0.0 creates only the schema_version bookkeeping (and is a no-op once it exists);
  # update-schema then applies every versioned step not yet applied.
  run setup-schema -v 0.0
  run update-schema -d "$versioned"
}
setup "${DBNAME:-temporal}" "$SCHEMA_DIR/temporal/versioned"
setup "${VISIBILITY_DBNAME:-temporal_visibility}" "$SCHEMA_DIR/visibility/versioned"
echo "schema: ${DBNAME:-temporal} and ${VISIBILITY_DBNAME:-temporal_visibility} up to date"
