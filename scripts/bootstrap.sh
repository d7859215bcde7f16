#!/usr/bin/env bash
# Creates .venv and installs exactly what requirements.lock pins (hash-checked).
# Idempotent: re-running after the lock file changes brings the venv in line.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.lock-sha256
want=$(sha256sum requirements.lock | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # uv installs the lock in seconds; pip is only used to fetch uv itself.
  .venv/bin/python -m pip install -q --disable-pip-version-check "uv==$(grep -Po '^uv==\K[^ ]+' requirements.lock)"
  .venv/bin/uv pip sync -q --python .venv/bin/python --require-hashes requirements.lock
  echo "$want" > "$stamp"
fi
