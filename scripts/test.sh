#!/usr/bin/env bash
# Second README command: install what the tests need, lint, run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/test-services.sh
.venv/bin/ruff check lalert tests bench
exec .venv/bin/python -m pytest "$@"
