#!/usr/bin/env bash
# The whole test suite: static checks, the workflow bundle, unit + replay tests, then integration and
# end-to-end tests against the real local stack (started here if it is not already running).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
stage() { printf '\n=== %s (%ss elapsed)\n' "$*" "$((SECONDS - t0))"; }

stage "setup"
bash scripts/setup.sh test
stage "typecheck"
npx tsc -p tsconfig.json --noEmit
stage "lint + format"
npx eslint .
npx prettier --check . --log-level warn
stage "workflow bundle (production artefact; fails on forbidden imports)"
npx tsx scripts/bundle-workflows.ts
stage "unit + replay tests"
npx vitest run --project unit

stage "local stack"
started_here=0
if ! node bin/fledge.js dev status >/dev/null 2>&1; then started_here=1; fi
cleanup() {
  if [ "$started_here" = 1 ] && [ "${FLEDGE_KEEP_STACK:-0}" != 1 ]; then
    echo "stopping the local stack started by this run"; node bin/fledge.js dev down || true
  fi
}
trap cleanup EXIT
node bin/fledge.js dev up
stage "integration + end-to-end tests (real stack)"
npx vitest run --project integration
stage "done in $((SECONDS - t0)) s"
