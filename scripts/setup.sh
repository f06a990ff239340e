#!/usr/bin/env bash
# Sets up a fresh machine for ssa: a venv with the pinned Python packages,
# the Apache Kafka jars (via Maven, cached in ~/.cache/ssa), and the Debian
# packages the tests and the demo use (Prometheus, Alertmanager), via apt-get.
# Idempotent: a second run does only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: Python 3.11+ is required (found $("$PY" --version 2>&1))" >&2; exit 1
fi
for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "setup: $tool is required (Java 17 and Maven fetch and run Kafka)" >&2; exit 1; }
done

# Debian packages (only what is missing; apt-get needs root, which CI has).
apt_needed=()
while read -r pkg bin; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  command -v "$bin" >/dev/null || apt_needed+=("$pkg")
done < scripts/apt-packages.txt
if ((${#apt_needed[@]})); then
  echo "setup: installing Debian packages: ${apt_needed[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_needed[@]}" >/dev/null
  # The packages start their daemons on install; ssa starts its own on free ports.
  for svc in prometheus prometheus-alertmanager prometheus-node-exporter; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
    pkill -x "$svc" 2>/dev/null || true
  done
fi

# Python packages into .venv, reinstalled only when pyproject.toml changes.
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
stamp=.venv/.ssa-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi

# Kafka jars (cached outside the repository).
.venv/bin/ssa kafka fetch
