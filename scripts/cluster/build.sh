#!/usr/bin/env bash
# Builds the Go-built pieces of the local Temporal cluster, idempotently, at pinned versions:
#   - temporal-server and temporal-sql-tool from go.temporal.io/server (TEMPORAL_SERVER_VERSION below);
#   - ui-server (the Temporal Web UI for a real cluster) from the wrapper module in scripts/cluster/ui-server;
#   - a copy of the server's PostgreSQL schema files, so the schema tool needs nothing from the Go caches.
# Everything lands in ITK3_TOOLS_DIR (default <repo>/.cache/tools, git-ignored); the Go module and build
# caches live under <repo>/.cache/go so a clean machine is self-contained and nothing touches ~/go.
# Nothing is downloaded at run time after this.
# `build.sh ui-server` builds only the Web UI server (what `npm run up` needs; the rest is for the cluster).
set -euo pipefail
ONLY="${1:-all}"
case "$ONLY" in all|ui-server) ;; *) echo "cluster build: unknown target '$ONLY' (all or ui-server)" >&2; exit 2 ;; esac
REPO="$(cd "$(dirname "$0")/../.." && pwd)"

# The versions are pinned here and nowhere else (the TypeScript scripts and the compose test read them back).
TEMPORAL_SERVER_VERSION=v1.32.1
UI_SERVER_VERSION=v2.58.1
# ui-server declares `go 1.26.10`; this exact toolchain comes through the Go module proxy at set-up time.
UI_SERVER_GO_TOOLCHAIN=go1.26.10

TOOLS_DIR="${ITK3_TOOLS_DIR:-$REPO/.cache/tools}"
GO_CACHE_ROOT="${ITK3_GO_CACHE_DIR:-$REPO/.cache/go}"
mkdir -p "$TOOLS_DIR/bin" "$GO_CACHE_ROOT"
TOOLS_DIR="$(cd "$TOOLS_DIR" && pwd)"

command -v go >/dev/null 2>&1 || { echo "cluster build: Go is required (https://go.dev/dl); none on PATH" >&2; exit 1; }

export GOMODCACHE="$GO_CACHE_ROOT/mod" GOCACHE="$GO_CACHE_ROOT/build" GOPATH="$GO_CACHE_ROOT/path"
# -modcacherw keeps the module cache deletable with rm -rf; GOTOOLCHAIN=local refuses a silent toolchain download.
export GOFLAGS="-modcacherw -buildvcs=false" GOTOOLCHAIN=local CGO_ENABLED=0
# Upstream's release build flags: no cgo, and no gRPC modules the server does not use.
BUILD_FLAGS=(-trimpath -tags disable_grpc_modules -ldflags "-s -w")

stamp_ok() { [ -x "$TOOLS_DIR/bin/$1" ] && [ "$(cat "$TOOLS_DIR/bin/.$1.version" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" > "$TOOLS_DIR/bin/.$1.version"; }

GOBIN_TMP="$TOOLS_DIR/.gobin"
if [ "$ONLY" = all ]; then
if ! stamp_ok temporal-server "$TEMPORAL_SERVER_VERSION"; then
  echo "cluster build: temporal-server $TEMPORAL_SERVER_VERSION (several minutes on a clean machine)"
  start=$(date +%s)
  GOBIN="$GOBIN_TMP" go install "${BUILD_FLAGS[@]}" "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION"
  mv -f "$GOBIN_TMP/server" "$TOOLS_DIR/bin/temporal-server"
  stamp temporal-server "$TEMPORAL_SERVER_VERSION"
  echo "cluster build: temporal-server built in $(( $(date +%s) - start )) s"
fi
if ! stamp_ok temporal-sql-tool "$TEMPORAL_SERVER_VERSION"; then
  echo "cluster build: temporal-sql-tool $TEMPORAL_SERVER_VERSION"
  GOBIN="$GOBIN_TMP" go install "${BUILD_FLAGS[@]}" "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION"
  mv -f "$GOBIN_TMP/sql" "$TOOLS_DIR/bin/temporal-sql-tool"
  stamp temporal-sql-tool "$TEMPORAL_SERVER_VERSION"
fi
SCHEMA_DIR="$TOOLS_DIR/schema/$TEMPORAL_SERVER_VERSION/postgresql"
if [ ! -f "$SCHEMA_DIR/.complete" ]; then
  src="$(go mod download -json "go.temporal.io/server@$TEMPORAL_SERVER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$src/schema/postgresql/v12" ] || { echo "cluster build: no PostgreSQL schema under '$src'" >&2; exit 1; }
  rm -rf "$SCHEMA_DIR" && mkdir -p "$SCHEMA_DIR"
  cp -R "$src/schema/postgresql/v12" "$SCHEMA_DIR/v12"
  chmod -R u+w "$SCHEMA_DIR"
  touch "$SCHEMA_DIR/.complete"
fi
fi
if ! stamp_ok ui-server "$UI_SERVER_VERSION"; then
  echo "cluster build: ui-server $UI_SERVER_VERSION"
  # The wrapper module pins go.temporal.io/api above the version ui-server itself requires, which the
  # module proxy no longer serves; go.sum in the wrapper makes the build reproducible.
  (cd "$REPO/scripts/cluster/ui-server" && GOTOOLCHAIN="$UI_SERVER_GO_TOOLCHAIN" go build "${BUILD_FLAGS[@]}" -o "$TOOLS_DIR/bin/ui-server" github.com/temporalio/ui-server/v2/cmd/server)
  stamp ui-server "$UI_SERVER_VERSION"
fi
rm -rf "$GOBIN_TMP"
if [ "$ONLY" = all ]; then echo "cluster build: ready in $TOOLS_DIR/bin (schema in $SCHEMA_DIR)"; else echo "cluster build: ui-server ready in $TOOLS_DIR/bin"; fi
