"""buildspec.yml's build phase, run in bash against stand-ins for the AWS CLI and Python."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

BUILDSPEC = Path(__file__).resolve().parent.parent / "buildspec.yml"
ROLE = "arn:aws:iam::222222222222:role/mlops-dev-model-build-access"


def build(tmp_path: Path, aws: str) -> subprocess.CompletedProcess[str]:
    """The build phase in CodeBuild's manner: its shell, the project's variables, ``aws`` as given.

    ``python`` is replaced by a script that prints the AWS variables it got.
    """
    buildspec = yaml.safe_load(BUILDSPEC.read_text())
    assert buildspec["env"]["shell"] == "bash"
    (script,) = buildspec["phases"]["build"]["commands"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in {
        "aws": aws,
        "python": 'echo "python $*"; env | grep -E "^AWS_" | sort',
    }.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    environment = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "AWS_REGION": "us-east-1",  # CodeBuild's: the tooling account's region
        "BUILD_REGION": "eu-west-1",
        "ASSUME_ROLE_ARN": ROLE,
        "CODEBUILD_BUILD_NUMBER": "7",
    }
    return subprocess.run(
        ["bash", "-c", script], env=environment, capture_output=True, text=True, check=False, timeout=30
    )


def test_runs_the_pipeline_as_the_assumed_role_in_the_build_region(tmp_path: Path) -> None:
    result = build(tmp_path, 'echo "$*" >&2; printf "AKIA1\\tsecret1\\ttoken1\\n"')
    assert result.returncode == 0, result.stderr
    assert f"sts assume-role --role-arn {ROLE} --role-session-name model-build-7" in result.stderr
    assert result.stdout.splitlines() == [
        "python -m pipelines.run",
        "AWS_ACCESS_KEY_ID=AKIA1",
        "AWS_DEFAULT_REGION=eu-west-1",
        "AWS_REGION=eu-west-1",
        "AWS_SECRET_ACCESS_KEY=secret1",
        "AWS_SESSION_TOKEN=token1",
    ]


@pytest.mark.parametrize(
    "aws",
    [
        'echo "An error occurred (AccessDenied) when calling the AssumeRole operation" >&2; exit 254',
        'printf "None\\tNone\\tNone\\n"',
    ],
    ids=["refused", "no-credentials"],
)
def test_stops_before_exporting_anything_when_assume_role_fails(tmp_path: Path, aws: str) -> None:
    result = build(tmp_path, aws)
    assert result.returncode != 0
    assert "python" not in result.stdout
    assert "AWS_ACCESS_KEY_ID" not in result.stdout


def test_an_unset_variable_stops_the_build() -> None:
    """bash's ``-u`` names the first one the script needed."""
    result = subprocess.run(
        ["bash", "-c", yaml.safe_load(BUILDSPEC.read_text())["phases"]["build"]["commands"][0]],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode != 0
    assert "ASSUME_ROLE_ARN: unbound variable" in result.stderr
