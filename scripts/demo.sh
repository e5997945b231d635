#!/usr/bin/env bash
# First README command: set up and run the demo daemon on embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/lalert run --demo "$@"
