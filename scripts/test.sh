#!/usr/bin/env bash
# The whole test suite, plus the linters and type checker CI holds the code to.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
ruff check .
ruff format --check .
mypy .
pytest "$@"
