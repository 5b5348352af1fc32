#!/usr/bin/env bash
# Infra pipeline, before a wave of deployment groups deploys: stop if a group's build-support stack is
# about to be created where an earlier deployment left retained resources (preprod/prod artifacts and
# access-log buckets, model registry, inference image repository). CloudFormation would fail on the existing names and leave the
# stack in ROLLBACK_COMPLETE; this says instead exactly what is in the way.
#
# Usage: preflight.sh ACCOUNT REGION STACK_NAME REGISTRY REPOSITORY BUCKET... (repeat the set after a "--")
# Reads the build account through its CDK bootstrap lookup role (read-only, trusts the tooling account).
# AWS_PARTITION comes from the pipeline (the stack's AWS::Partition), so the role ARN is never guessed.
#
# Fails closed: only an answer the service documents as "not found" counts as absent. A denied
# assume-role, a 403, throttling or any other error stops the wave and names what could not be checked.
# Exit status: 0 nothing in the way, 1 retained resources in the way, 2 something could not be checked.
set -euo pipefail

: "${AWS_PARTITION:?must come from the pipeline (the stack partition, AWS::Partition); the preflight does not guess it}"

# Documented not-found answers, matched on the AWS CLI's "An error occurred (CODE) ..." line.
# CloudFormation DescribeStacks: "If the stack doesn't exist, a ValidationError is returned" (API reference).
STACK_NOT_FOUND='\(ValidationError\).* does not exist'
# S3 HeadBucket: 404 Not Found when the bucket does not exist; 403 means it exists but is not readable.
BUCKET_NOT_FOUND='\((404|NoSuchBucket)\)'
# SageMaker DescribeModelPackageGroup lists no not-found error of its own; SageMaker answers an unknown
# name with ValidationException "... does not exist" (ResourceNotFound on the newer operations).
REGISTRY_NOT_FOUND='\(ValidationException\).* does not exist|\(ResourceNotFound(Exception)?\)'
# ECR DescribeRepositories: RepositoryNotFoundException, "The specified repository could not be found".
REPOSITORY_NOT_FOUND='\(RepositoryNotFoundException\)'

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

FOUND=unknown
blocked=()   # per group in the way: a heading, then "  - " and each retained resource
unchecked=() # "what could not be checked: the CLI's error"

# probe WHAT NOT_FOUND COMMAND...: runs one read and sets FOUND to yes, no (the error matched NOT_FOUND)
# or unknown (anything else: WHAT is recorded as unchecked, with the CLI's error). The status is tested
# here, in an if, so set -e keeps guarding every other command of the script.
probe() {
  local what=$1 not_found=$2 status error
  shift 2
  if "$@" >"$workdir/out" 2>"$workdir/err"; then
    FOUND=yes
    return 0
  else
    status=$?
  fi
  if [[ -n $not_found ]] && grep -Eq -- "$not_found" "$workdir/err"; then
    FOUND=no
  else
    FOUND=unknown
    error=$(awk 'NF { last = $0 } END { print last }' "$workdir/err")
    unchecked+=("$what: ${error:-no error message} [exit status $status]")
  fi
}

check_group() {
  local account=$1 region=$2 stack=$3 registry=$4 repository=$5
  shift 5
  local role="arn:${AWS_PARTITION}:iam::${account}:role/cdk-hnb659fds-lookup-role-${account}-${region}"
  # Any failure to assume the role stops here: the CodeBuild role's own view would be another account's.
  probe "$account/$region through $role" "" aws sts assume-role --role-arn "$role" \
    --role-session-name module-preflight \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text
  [[ $FOUND == yes ]] || return 0
  local -x AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN <"$workdir/out"

  probe "stack $stack in $account/$region" "$STACK_NOT_FOUND" \
    aws cloudformation describe-stacks --region "$region" --stack-name "$stack"
  case $FOUND in
    yes) echo "$stack exists in $account/$region: it will be updated"; return 0 ;;
    unknown) return 0 ;;
  esac
  local leftovers=() complete=true
  for bucket in "$@"; do
    probe "bucket s3://$bucket" "$BUCKET_NOT_FOUND" aws s3api head-bucket --region "$region" --bucket "$bucket"
    case $FOUND in
      yes) leftovers+=("bucket s3://$bucket") ;;
      unknown) complete=false ;;
    esac
  done
  probe "model package group $registry in $account/$region" "$REGISTRY_NOT_FOUND" \
    aws sagemaker describe-model-package-group --region "$region" --model-package-group-name "$registry"
  case $FOUND in
    yes) leftovers+=("model package group $registry") ;;
    unknown) complete=false ;;
  esac
  probe "image repository $repository in $account/$region" "$REPOSITORY_NOT_FOUND" \
    aws ecr describe-repositories --region "$region" --repository-names "$repository"
  case $FOUND in
    yes) leftovers+=("image repository $repository") ;;
    unknown) complete=false ;;
  esac
  if ((${#leftovers[@]})); then
    blocked+=("error: $stack is new in $account/$region, but an earlier deployment retained:")
    blocked+=("${leftovers[@]/#/  - }")
  elif $complete; then
    echo "$stack is new in $account/$region and nothing retained is in its way"
  fi
  return 0
}

while (($#)); do
  group=()
  while (($#)) && [[ $1 != "--" ]]; do group+=("$1"); shift; done
  (($#)) && shift
  check_group "${group[@]}"
done

status=0
if ((${#blocked[@]})); then
  printf '%s\n' "${blocked[@]}" >&2
  echo "Copy out what you want to keep, then remove these (README: Redeploying after a destroy) and run again." >&2
  status=1
fi
if ((${#unchecked[@]})); then
  echo "error: the preflight could not check, so it stops the wave rather than guess:" >&2
  printf '  - %s\n' "${unchecked[@]}" >&2
  echo "Fix the access (the build account's CDK lookup role) or wait out throttling, then retry the stage." >&2
  status=2
fi
exit "$status"
