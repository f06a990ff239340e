#!/usr/bin/env bash
# The test command: set up (idempotent), lint, type-check, run every test
# against a real Kafka broker that the test session starts itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"; .venv/bin/ruff check engine collectors tests bench
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; .venv/bin/pytest "$@"
