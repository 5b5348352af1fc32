#!/usr/bin/env bash
# The synth step's install, cold then warm twice: pip install -r requirements.txt into a fresh venv and
# npm ci, with caches in a scratch folder (empty for the cold run). Prints seconds per part.
# Run: bash benchmarks/synth_install.sh [SCRATCH]   (needs PyPI and the npm registry)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${1:-$(mktemp -d)}"
cp "$root/requirements.txt" "$root/package.json" "$root/package-lock.json" "$scratch/"
cd "$scratch"
run() {
  rm -rf venv node_modules
  python3 -m venv venv
  local start mid end
  start=$(date +%s.%N)
  PIP_CACHE_DIR="$scratch/pip-cache" venv/bin/pip install -q -r requirements.txt
  mid=$(date +%s.%N)
  npm ci --cache "$scratch/npm-cache" --no-audit --no-fund --loglevel=error >/dev/null
  end=$(date +%s.%N)
  python3 -c "import sys; s, m, e = map(float, sys.argv[2:]); print(f'{sys.argv[1]}: pip {m - s:.0f} s, npm {e - m:.1f} s, total {e - s:.0f} s')" "$1" "$start" "$mid" "$end"
}
rm -rf pip-cache npm-cache
run cold
run warm
run warm
