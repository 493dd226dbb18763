#!/usr/bin/env bash
# Installs everything the project needs, idempotently: npm dependencies and the local stack's tools.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "[setup] Node.js >= 20 is required (found $(node -v 2>/dev/null || echo none))" >&2; exit 1
fi
# npm dependencies: only when missing or the lockfile changed since the last install.
stamp=node_modules/.fledge-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  # `npm install --no-save` installs exactly the lockfile's versions without rewriting it. (`npm ci` refuses
  # lockfiles written with omit-lockfile-registry-resolved, this machine's npm setting: it reports the other
  # platforms' optional packages, e.g. @swc/core-darwin-arm64, as missing.)
  log "npm install (from package-lock.json)"
  npm install --no-save --no-fund --no-audit --loglevel=error
  cp package-lock.json "$stamp"
else
  log "npm dependencies: up to date"
fi
# scripts/test.sh passes `test`: everything plus Debian's chromium (the Web UI browser test); the demo needs less.
bash scripts/install-tools.sh "${1:-all}"
