#!/usr/bin/env bash
# The main job: set up (idempotent), then run the whole system on the demo city
# with a locally started Kafka. Extra arguments go to `ssa demo`
# (e.g. --duration 120). Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/ssa demo "$@"
