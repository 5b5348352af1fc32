"""The infra pipeline's preflight check, run as CodeBuild runs it, against a stand-in AWS CLI."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, Synth

SCRIPT = ROOT / "scripts" / "preflight.sh"
GROUP = ["123456789015", "us-east-1", "demo-prod-build-support", "demo-prod-models", "demo-art", "demo-logs"]
OTHER = ["123456789012", "us-east-1", "demo-dev-build-support", "demo-dev-models", "dev-art", "dev-logs"]

# Answers like the AWS CLI: exit 0 for what exists in the fake account, 254/255 for what does not.
FAKE_AWS = """#!/usr/bin/env bash
echo "$*" >> "$STATE/calls"
case "$1 $2" in
  "sts assume-role") echo "AKIA SECRET TOKEN"; exit 0 ;;
  "cloudformation describe-stacks") name=${@: -1} ;;
  "s3api head-bucket") name=$4 ;;
  "sagemaker describe-model-package-group") name=${@: -1} ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
[ -e "$STATE/exists/$name" ] && exit 0 || exit 254
"""


@pytest.fixture
def aws(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    (tmp_path / "exists").mkdir()
    fake = tmp_path / "bin" / "aws"
    fake.write_text(FAKE_AWS)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return tmp_path


def run(state: Path, *groups: list[str]) -> subprocess.CompletedProcess[str]:
    arguments: list[str] = []
    for group in groups:
        arguments += (["--"] if arguments else []) + group
    env = {**os.environ, "PATH": f"{state / 'bin'}{os.pathsep}{os.environ['PATH']}", "STATE": str(state)}
    return subprocess.run(
        ["bash", str(SCRIPT), *arguments], env=env, capture_output=True, text=True, check=False
    )


def exists(state: Path, *names: str) -> None:
    for name in names:
        (state / "exists" / name).touch()


def test_a_first_deployment_passes(aws: Path) -> None:
    result = run(aws, GROUP)
    assert result.returncode == 0, result.stderr
    assert "nothing retained is in its way" in result.stdout


def test_an_existing_stack_is_updated_whatever_it_holds(aws: Path) -> None:
    exists(aws, "demo-prod-build-support", "demo-art", "demo-prod-models")
    result = run(aws, GROUP)
    assert result.returncode == 0, result.stderr
    assert "it will be updated" in result.stdout


def test_retained_resources_in_the_way_stop_the_wave_and_are_named(aws: Path) -> None:
    exists(aws, "demo-art", "demo-logs", "demo-prod-models")
    result = run(aws, OTHER, GROUP)
    assert result.returncode == 1
    assert "error: demo-prod-build-support is new in 123456789015/us-east-1" in result.stderr
    for named in ("bucket s3://demo-art", "bucket s3://demo-logs", "model package group demo-prod-models"):
        assert f"  - {named}" in result.stderr
    assert "demo-dev-build-support is new" in result.stdout, "every group of the wave is checked"


def test_it_reads_through_each_build_accounts_lookup_role(aws: Path) -> None:
    run(aws, OTHER, GROUP)
    calls = (aws / "calls").read_text().splitlines()
    assumed = [c for c in calls if c.startswith("sts assume-role")]
    assert [c.split()[3] for c in assumed] == [
        "arn:aws:iam::123456789012:role/cdk-hnb659fds-lookup-role-123456789012-us-east-1",
        "arn:aws:iam::123456789015:role/cdk-hnb659fds-lookup-role-123456789015-us-east-1",
    ]


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
