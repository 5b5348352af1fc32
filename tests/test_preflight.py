"""The infra pipeline's preflight check, run as CodeBuild runs it, against a stand-in AWS CLI."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, Synth

SCRIPT = ROOT / "scripts" / "preflight.sh"
# account, region, stack, registry, image repository, buckets
GROUP = [
    *("123456789015", "us-east-1", "demo-prod-build-support"),
    *("demo-prod-models", "demo-prod-images", "demo-art", "demo-logs"),
]
OTHER = [
    *("123456789012", "us-east-1", "demo-dev-build-support"),
    *("demo-dev-models", "demo-dev-images", "dev-art", "dev-logs"),
]

# Answers like the AWS CLI v2: exit 0 for what exists in the fake account; otherwise exit 254 with the
# service's error line on stderr, the documented not-found answer unless the test wrote another one into
# $STATE/answers/<name> (the account for assume-role). Probes without the assumed role's credentials
# are refused, as the CodeBuild role's own view of its account would be the wrong account's.
FAKE_AWS = r"""#!/usr/bin/env bash
echo "$*" >> "$STATE/calls"
fail() { printf '\nAn error occurred (%s) when calling the %s operation: %s\n' "$@" >&2; exit 254; }
case "$1 $2" in
  "sts assume-role") name=${4#*::}; name=${name%%:*} ;;
  "cloudformation describe-stacks") name=${@: -1} ;;
  "s3api head-bucket") name=${@: -1} ;;
  "sagemaker describe-model-package-group") name=${@: -1} ;;
  "ecr describe-repositories") name=${@: -1} ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
if [ -e "$STATE/answers/$name" ]; then cat "$STATE/answers/$name" >&2; exit 254; fi
if [ "$1" = sts ]; then echo "AKIA	SECRET	TOKEN"; exit 0; fi
[ "${AWS_SESSION_TOKEN:-}" = TOKEN ] || fail ExpiredToken "$2" "not the lookup role's session"
[ -e "$STATE/exists/$name" ] && exit 0
case "$1" in
  cloudformation) fail ValidationError DescribeStacks "Stack with id $name does not exist" ;;
  s3api) fail 404 HeadBucket "Not Found" ;;
  sagemaker) fail ValidationException DescribeModelPackageGroup "ModelPackageGroup $name does not exist." ;;
  ecr) fail RepositoryNotFoundException DescribeRepositories "The repository '$name' does not exist" ;;
esac
"""
DENIED = (
    "An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:sts::111111111111:"
    "assumed-role/preflight/x is not authorized to perform: sts:AssumeRole on resource: {role}"
)
FORBIDDEN = "An error occurred (403) when calling the HeadBucket operation: Forbidden"
THROTTLED = (
    "An error occurred (Throttling) when calling the DescribeStacks operation (reached max retries: 2): "
    "Rate exceeded"
)
COULD_NOT_CHECK = "error: the preflight could not check, so it stops the wave rather than guess:"


def lookup_role(account: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:role/cdk-hnb659fds-lookup-role-{account}-us-east-1"


@pytest.fixture
def aws(tmp_path: Path) -> Path:
    for folder in ("bin", "exists", "answers"):
        (tmp_path / folder).mkdir()
    fake = tmp_path / "bin" / "aws"
    fake.write_text(FAKE_AWS)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return tmp_path


def run(state: Path, *groups: list[str], partition: str | None = "aws") -> subprocess.CompletedProcess[str]:
    arguments: list[str] = []
    for group in groups:
        arguments += (["--"] if arguments else []) + group
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"PATH": f"{state / 'bin'}{os.pathsep}{os.environ['PATH']}", "STATE": str(state)}
    if partition is not None:
        env["AWS_PARTITION"] = partition
    return subprocess.run(
        ["bash", str(SCRIPT), *arguments], env=env, capture_output=True, text=True, check=False
    )


def exists(state: Path, *names: str) -> None:
    for name in names:
        (state / "exists" / name).touch()


def answer(state: Path, name: str, error: str) -> None:
    """The service answers any call about ``name`` with ``error``."""
    (state / "answers" / name).write_text(f"\n{error}\n")


def calls(state: Path) -> list[str]:
    return (state / "calls").read_text().splitlines()


def test_a_first_deployment_passes(aws: Path) -> None:
    result = run(aws, GROUP)
    assert result.returncode == 0, result.stderr
    assert "nothing retained is in its way" in result.stdout
    assert result.stderr == ""


def test_an_existing_stack_is_updated_whatever_it_holds(aws: Path) -> None:
    exists(aws, "demo-prod-build-support", "demo-art", "demo-prod-models")
    result = run(aws, GROUP)
    assert result.returncode == 0, result.stderr
    assert "it will be updated" in result.stdout


def test_retained_resources_in_the_way_stop_the_wave_and_are_named(aws: Path) -> None:
    exists(aws, "demo-art", "demo-logs", "demo-prod-models", "demo-prod-images")
    result = run(aws, OTHER, GROUP)
    assert result.returncode == 1
    assert "error: demo-prod-build-support is new in 123456789015/us-east-1" in result.stderr
    for named in (
        "bucket s3://demo-art",
        "bucket s3://demo-logs",
        "model package group demo-prod-models",
        "image repository demo-prod-images",
    ):
        assert f"  - {named}" in result.stderr
    assert "demo-dev-build-support is new" in result.stdout, "every group of the wave is checked"


def test_it_reads_through_each_build_accounts_lookup_role(aws: Path) -> None:
    run(aws, OTHER, GROUP)
    assumed = [c for c in calls(aws) if c.startswith("sts assume-role")]
    assert [c.split()[3] for c in assumed] == [lookup_role("123456789012"), lookup_role("123456789015")]


def test_the_partition_comes_from_the_pipeline(aws: Path) -> None:
    run(aws, GROUP, partition="aws-cn")
    (assumed,) = [c for c in calls(aws) if c.startswith("sts assume-role")]
    assert assumed.split()[3] == lookup_role("123456789015", "aws-cn")


def test_without_a_partition_it_stops_before_any_call(aws: Path) -> None:
    result = run(aws, GROUP, partition=None)
    assert result.returncode != 0
    assert "AWS_PARTITION" in result.stderr
    assert not (aws / "calls").exists()


def test_a_denied_assume_role_stops_the_wave_without_reading_as_the_codebuild_role(aws: Path) -> None:
    role = lookup_role("123456789015")
    answer(aws, "123456789015", DENIED.format(role=role))
    result = run(aws, OTHER, GROUP)
    assert result.returncode == 2
    assert COULD_NOT_CHECK in result.stderr
    assert f"  - 123456789015/us-east-1 through {role}: An error occurred (AccessDenied)" in result.stderr
    assert "demo-prod-build-support" not in result.stdout
    assert not [c for c in calls(aws) if "demo-prod" in c or "demo-art" in c], "no probe without the role"
    assert "demo-dev-build-support is new" in result.stdout, "the other groups are still checked"


def test_a_forbidden_bucket_is_not_taken_for_absent(aws: Path) -> None:
    answer(aws, "demo-logs", FORBIDDEN)
    result = run(aws, GROUP)
    assert result.returncode == 2
    assert f"  - bucket s3://demo-logs: {FORBIDDEN} [exit status 254]" in result.stderr
    assert "nothing retained" not in result.stdout


def test_throttling_stops_the_wave_and_names_the_stack(aws: Path) -> None:
    answer(aws, "demo-prod-build-support", THROTTLED)
    result = run(aws, GROUP)
    assert result.returncode == 2
    assert f"  - stack demo-prod-build-support in 123456789015/us-east-1: {THROTTLED}" in result.stderr
    assert not [c for c in calls(aws) if c.startswith(("s3api", "sagemaker"))], "nothing concluded from it"


def test_an_undocumented_error_is_not_taken_for_not_found(aws: Path) -> None:
    # A ValidationException that is not "does not exist", and an error with no message at all.
    answer(
        aws,
        "demo-prod-models",
        "An error occurred (ValidationException) when calling the "
        "DescribeModelPackageGroup operation: 1 validation error detected",
    )
    answer(aws, "demo-art", "")
    result = run(aws, GROUP)
    assert result.returncode == 2
    assert (
        "  - model package group demo-prod-models in 123456789015/us-east-1: An error occurred "
        "(ValidationException)" in result.stderr
    )
    assert "  - bucket s3://demo-art: no error message [exit status 254]" in result.stderr


def test_what_is_in_the_way_and_what_could_not_be_checked_are_both_reported(aws: Path) -> None:
    exists(aws, "demo-art")
    answer(aws, "demo-logs", FORBIDDEN)
    result = run(aws, GROUP)
    assert result.returncode == 2
    assert "  - bucket s3://demo-art" in result.stderr
    assert COULD_NOT_CHECK in result.stderr


def test_the_script_never_disables_set_e_around_a_check() -> None:
    script = SCRIPT.read_text()
    assert "set -euo pipefail" in script
    assert "|| status=" not in script
    assert not re.search(r"check_group[^\n]*\|\|", script), "a || after a call switches set -e off inside it"
    assert "2>/dev/null" not in script, "no error is thrown away"
    assert ":-aws}" not in script, "no default partition"


def test_every_wave_opens_with_a_preflight_of_its_groups(example_synth: Synth) -> None:
    template = example_synth.stack("MlopsCicd").template
    (pipeline,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    waves = [s for s in pipeline["Properties"]["Stages"] if s["Name"].startswith("DeploymentGroups")]
    assert waves
    for wave in waves:
        first = min(wave["Actions"], key=lambda a: a["RunOrder"])
        assert first["Name"] == "Preflight"
        assert all(a["RunOrder"] > first["RunOrder"] for a in wave["Actions"] if a is not first)
    (project,) = [
        r
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::CodeBuild::Project" and "Preflight" in k
    ]
    (command,) = json.loads(project["Properties"]["Source"]["BuildSpec"])["phases"]["build"]["commands"]
    variables = {v["Name"]: v["Value"] for v in project["Properties"]["Environment"]["EnvironmentVariables"]}
    assert variables["AWS_PARTITION"] == {"Ref": "AWS::Partition"}, "the partition comes from the stack"
    assert command.startswith("bash scripts/preflight.sh 123456789012 us-east-1 ")
    prod_stack = "mlops-demo-models-sagemaker-model-cicd-prod-deployment-group-build-support"
    assert f" -- 123456789015 us-east-1 {prod_stack} " in command
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for k, p in template["Resources"].items()
        if p["Type"] == "AWS::IAM::Policy" and "Preflight" in k
    ]
    assumes = [s for doc in policies for s in doc if s["Action"] == "sts:AssumeRole"]
    (statement,) = assumes
    assert len(statement["Resource"]) == 2
    assert all("cdk-hnb659fds-lookup-role-" in json.dumps(r) for r in statement["Resource"])
