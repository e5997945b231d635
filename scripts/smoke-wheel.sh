#!/usr/bin/env bash
# Build the wheel, install it into a fresh virtualenv in a temporary directory outside the
# checkout, and smoke-test it there (scripts/smoke_wheel.py): parse, validate against the
# shipped CAP XSD, and the demo daemon's map, signage (Japanese) and read API. Proves the
# installed package reads nothing from the source tree.
# Speed: dependencies come from a local wheelhouse (filled from pip's cache the first time,
# or when pyproject.toml's dependencies change) and are installed without byte-compiling.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
corpus=${LALERT_CORPUS:-$repo/../shared/corpus}
[ -d "$corpus/xml" ] || { echo "smoke-wheel: corpus not found at $corpus (set LALERT_CORPUS)" >&2; exit 1; }
corpus=$(cd "$corpus" && pwd)
PY=${PYTHON:-python3}
wheelhouse=${LALERT_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/lalert/wheelhouse}
work=$(mktemp -d "${TMPDIR:-/tmp}/lalert-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
quiet() { grep -v "^$\|^WARNING: Location" >&2 || true; }
start=$(date +%s)
# the npm modules the map serves must be in the wheel (setup.py copies them)
LALERT_REQUIRE_NPM=1 "$PY" -m pip wheel --no-deps -q --disable-pip-version-check \
  -w "$work/dist" . 2>&1 | quiet
wheel=$(ls "$work"/dist/lalert-*.whl 2>/dev/null | head -1)
[ -n "$wheel" ] || { echo "smoke-wheel: the wheel did not build" >&2; exit 1; }
built=$(date +%s)
"$PY" -m venv "$work/venv"
install() {
  "$work/venv/bin/pip" install -q --no-compile --disable-pip-version-check --no-index \
    --find-links "$wheelhouse" "$wheel" 2>&1
}
if ! install > "$work/install.log"; then
  echo "smoke-wheel: filling the wheelhouse $wheelhouse …" >&2
  rm -f "$wheelhouse"/lalert-*.whl   # pip would read a stale lalert's dependencies from it
  "$PY" -m pip wheel -q --disable-pip-version-check -w "$wheelhouse" "$wheel" 2>&1 | quiet
  rm -f "$wheelhouse"/lalert-*.whl   # only dependencies live there
  install | quiet
fi
"$work/venv/bin/python" -c "import lalert" || { echo "smoke-wheel: the wheel did not install" >&2; exit 1; }
installed=$(date +%s)
cp scripts/smoke_wheel.py "$work/"
cd "$work"
env -u PYTHONPATH -u LALERT_CAP_XSD "$work/venv/bin/python" -I smoke_wheel.py "$repo" "$corpus" "$work"
echo "smoke-wheel: passed (build $((built - start)) s, fresh venv + install $((installed - built)) s, checks $(( $(date +%s) - installed )) s)"
