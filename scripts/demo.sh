#!/usr/bin/env bash
# The main job: a local end-to-end demo release on the embedded default stack.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx src/dev/demo.ts
