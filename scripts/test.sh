#!/usr/bin/env bash
# The whole test suite, plus the linters and type checker CI holds the code to.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
ruff check .
ruff format --check .
# Parallel workers (mypy 2's -n, experimental) shorten a cold run (a fresh clone's) from 25 s to 17 s on 2 cores;
# more workers than cores only slow it.
cores=$(nproc 2>/dev/null || sysctl -n hw.ncpu)
mypy --num-workers "$(( cores < 4 ? cores : 4 ))" .
pytest "$@"
