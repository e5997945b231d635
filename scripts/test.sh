#!/usr/bin/env bash
# Second README command: install what the tests need, lint, run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/test-services.sh
.venv/bin/ruff check lalert tests bench
# the wheel, installed in a fresh virtualenv outside the checkout, runs the demo
PYTHON=.venv/bin/python bash scripts/smoke-wheel.sh
# strict: a skip (missing corpus, browser, server) fails the run (tests/conftest.py)
LALERT_TESTS_STRICT=1 exec .venv/bin/python -m pytest "$@"
