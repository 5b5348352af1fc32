#!/usr/bin/env bash
# Infra pipeline, before a wave of deployment groups deploys: stop if a group's build-support stack is
# about to be created where an earlier deployment left retained resources (preprod/prod artifacts,
# keys' aliases, model registry). CloudFormation would fail on the existing names and leave the stack in
# ROLLBACK_COMPLETE; this says instead exactly what is in the way.
#
# Usage: preflight.sh ACCOUNT REGION STACK_NAME REGISTRY BUCKET... (repeat the set after a "--")
# Reads the build account through its CDK bootstrap lookup role (read-only, trusts the tooling account).
set -euo pipefail

check_group() {
  local account=$1 region=$2 stack=$3 registry=$4
  shift 4
  local role="arn:${AWS_PARTITION:-aws}:iam::${account}:role/cdk-hnb659fds-lookup-role-${account}-${region}"
  local credentials
  credentials=$(aws sts assume-role --role-arn "$role" --role-session-name module-preflight \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
  local key secret token
  read -r key secret token <<<"$credentials"
  if AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret AWS_SESSION_TOKEN=$token \
    aws cloudformation describe-stacks --region "$region" --stack-name "$stack" >/dev/null 2>&1; then
    echo "$stack exists in $account/$region: it will be updated"
    return 0
  fi
  local leftovers=()
  for bucket in "$@"; do
    if AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret AWS_SESSION_TOKEN=$token \
      aws s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
      leftovers+=("bucket s3://$bucket")
    fi
  done
  if AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret AWS_SESSION_TOKEN=$token \
    aws sagemaker describe-model-package-group --region "$region" \
    --model-package-group-name "$registry" >/dev/null 2>&1; then
    leftovers+=("model package group $registry")
  fi
  if ((${#leftovers[@]})); then
    echo "error: $stack is new in $account/$region, but an earlier deployment retained:" >&2
    printf '  - %s\n' "${leftovers[@]}" >&2
    echo "Copy out what you want to keep, then remove these (README: Removing the module) and run again." >&2
    return 1
  fi
  echo "$stack is new in $account/$region and nothing retained is in its way"
}

status=0
while (($#)); do
  group=()
  while (($#)) && [[ $1 != "--" ]]; do group+=("$1"); shift; done
  (($#)) && shift
  check_group "${group[@]}" || status=1
done
exit "$status"
