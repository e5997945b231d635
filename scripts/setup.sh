#!/usr/bin/env bash
# Create .venv and install lalert into it (idempotent; reinstalls when pyproject.toml
# changes). Used by demo.sh and test.sh. pip's chatter goes to .venv/install.log.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extras=${1:-}
stamp=".venv/.installed${extras:+-$extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "lalert: installing Python packages into .venv (log: .venv/install.log) …" >&2
  target="."
  [ -n "$extras" ] && target=".[$extras]"
  if ! { .venv/bin/pip install --upgrade pip && .venv/bin/pip install -e "$target"; } \
      > .venv/install.log 2>&1; then
    tail -30 .venv/install.log >&2
    echo "lalert: pip install failed (full log: .venv/install.log)" >&2
    exit 1
  fi
  touch "$stamp"
fi
# Runtime npm modules (protomaps-leaflet draws the map's boundaries from lalert's own
# tiles; leaflet.markercluster clusters its shelter markers); without npm the map embeds the
# boundaries as GeoJSON and draws every marker, so this is optional.
if [ -f package-lock.json ] && [ ! -f node_modules/protomaps-leaflet/package.json ]; then
  if command -v npm >/dev/null; then
    echo "lalert: installing npm runtime modules (log: .venv/npm.log) …" >&2
    npm ci --omit=dev --no-audit --no-fund > .venv/npm.log 2>&1 \
      || echo "lalert: npm ci failed (see .venv/npm.log); the map embeds its boundaries" >&2
  else
    echo "lalert: npm not found; the map embeds its boundaries instead of using tiles" >&2
  fi
fi
