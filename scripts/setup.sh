#!/usr/bin/env bash
# Create .venv and install lalert into it (idempotent). Used by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extras=${1:-}
stamp=".venv/.installed${extras:+-$extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip >/dev/null
  if [ -n "$extras" ]; then
    .venv/bin/pip install -q -e ".[$extras]"
  else
    .venv/bin/pip install -q -e .
  fi
  touch "$stamp"
fi
