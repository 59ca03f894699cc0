# Sourced by the test scripts: one scratch directory per run, removed when the run passes.
#
# Each suite starts real services (Temporal's SQLite file, PostgreSQL clusters, mesh-sandbox stores,
# content stores), and many tests make a temporary directory of their own. Left in the system's
# temporary directory they add up to gigabytes on a developer's machine. With TMPDIR pointing into one
# directory per run, every process of the run (Node's os.tmpdir(), Python's tempfile, mktemp) makes its
# directories inside it, so a single removal clears them all, whatever a test forgot.
#
# A failed run keeps it, and says where, because its service logs are what explain the failure; so does
# ITK3_KEEP_SCRATCH=1. Usage: `source scripts/lib/scratch.sh; itk3_scratch <name>` before the run.

itk3_scratch() {
  local name=$1
  ITK3_SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/itk3-${name}.XXXXXX")
  # Others may pass through, never list: PostgreSQL runs as its own user and must reach its directory.
  chmod 711 "$ITK3_SCRATCH"
  export ITK3_SCRATCH TMPDIR=$ITK3_SCRATCH
  trap _itk3_scratch_end EXIT
}

_itk3_scratch_end() {
  local rc=$?
  if [ "$rc" -ne 0 ] || [ "${ITK3_KEEP_SCRATCH:-}" = 1 ]; then
    echo "scratch kept (exit status $rc): $ITK3_SCRATCH" >&2
    return
  fi
  # A process stopped a moment ago may still be closing files: one more try after a second. Clearing up
  # never changes the run's verdict.
  rm -rf "$ITK3_SCRATCH" 2>/dev/null || { sleep 1; rm -rf "$ITK3_SCRATCH" 2>/dev/null; } ||
    echo "scratch could not be removed: $ITK3_SCRATCH" >&2
}
