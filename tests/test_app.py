"""The app as users run it: bad input gets one clear line per problem, exit code 2, no traceback (and
through the documented CLI command, the CLI's own 1 after the app's lines)."""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
import yaml

from app import main
from settings import load_settings
from tests.conftest import (
    EXAMPLE_MANIFEST,
    ROOT,
    clean_environment,
    manifest_parameters,
    seedfarmer_environment,
)


@dataclass
class AppResult:
    returncode: int
    stderr: str


def run_app(env: dict[str, str]) -> AppResult:
    """``app.main`` in this process, given ``env`` as its whole environment (no CDK import per test).

    An exception escapes and fails the test, so no test here needs to look for a traceback; the CLI
    path itself is proven once, through the documented command (the last test here).
    """
    printed = io.StringIO()
    with contextlib.redirect_stderr(printed):
        returncode = main(env)
    return AppResult(returncode, printed.getvalue())


def with_groups(groups: list[dict[str, object]]) -> dict[str, str]:
    env = seedfarmer_environment()
    env["SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS"] = json.dumps(groups)
    return env


def example_groups() -> list[dict[str, object]]:
    groups = next(p["value"] for p in manifest_parameters() if p["name"] == "deployment-groups")
    assert isinstance(groups, list)
    return groups


def test_bad_account_is_named_in_the_users_spelling() -> None:
    groups = example_groups()
    groups[1]["buildEnvironment"]["account"] = "12345"  # type: ignore[index]
    result = run_app(with_groups(groups))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: deployment-groups[1].buildEnvironment.account: must be 12 digits, got '12345'"
    ]


def test_every_problem_gets_its_own_line() -> None:
    groups = example_groups()
    groups[0]["sourceBrnach"] = groups[0].pop("sourceBranch")
    groups[1]["buildEnvironment"]["type"] = "production"  # type: ignore[index]
    env = with_groups(groups)
    env["SEEDFARMER_PARAMETER_INFRA_REPO"] = json.dumps({"host": "svn", "name": "infra"})
    result = run_app(env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 4, lines
    assert any(line.startswith("error: infra-repo.host: ") for line in lines)
    assert "error: deployment-groups[0].sourceBranch: is required" in lines
    assert "error: deployment-groups[0].sourceBrnach: unknown key (check its spelling)" in lines
    assert any(line.startswith("error: deployment-groups[1].buildEnvironment.type: ") for line in lines)


@pytest.mark.parametrize(
    ("missing", "hint"),
    [("SEEDFARMER_PROJECT_NAME", "SEEDFARMER_PROJECT_NAME"), ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_ACCOUNT")],
)
def test_missing_context_says_what_to_set(missing: str, hint: str) -> None:
    env = seedfarmer_environment()
    del env[missing]
    result = run_app(env)
    assert result.returncode == 2
    assert hint in result.stderr
    assert "set" in result.stderr


def test_nothing_set_at_all_is_explained() -> None:
    result = run_app({})
    assert result.returncode == 2
    assert "error: infra-repo: is required" in result.stderr
    assert "SEEDFARMER_PARAMETER_INFRA_REPO" in result.stderr


@pytest.mark.parametrize(
    "info",
    ['{"modelPackageArn": "arn:aws:sagemaker:us-east-1:123456789015:model-package/x/3"', '{"imageUri": "x"}'],
)
def test_malformed_approved_model_is_one_clear_line(info: str) -> None:
    env = seedfarmer_environment(
        extra={"APPROVED_MODEL_INFO": info, "APPROVED_MODEL_GROUP": "prod-deployment-group"}
    )
    result = run_app(env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines
    assert all(line.startswith("error: APPROVED_MODEL_INFO: ") for line in lines), lines


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({}, ["AwsSolutionsChecks"]),
        ({"validate": "true"}, ["AwsSolutionsChecks", "CloudFormationValidatePlugin"]),
    ],
)
def test_cloudformation_validation_is_opt_in_and_cdk_nag_always_runs(
    context: dict[str, str], expected: list[str]
) -> None:
    """Off by default (1.5 s of a 4.5 s synth); seedfarmer's deploy and this suite's synths turn it on."""

    from app import validation_plugins

    plugins = validation_plugins(cdk.App(context=context))
    assert [type(plugin).__name__ for plugin in plugins] == expected


def test_groups_from_a_file_are_the_inline_groups_and_the_pipelines_carry_the_files_name(
    tmp_path: Path,
) -> None:
    """The file changes what seedfarmer stores, not what deploys: the same settings (templates are made
    from settings alone), except that the pipelines' synths carry the file's name, to read it again."""
    parameters = manifest_parameters()
    (groups,) = [p["value"] for p in parameters if p["name"] == "deployment-groups"]
    (tmp_path / "groups.yaml").write_text(yaml.safe_dump(groups))
    inline = seedfarmer_environment(parameters)
    from_file = {k: v for k, v in inline.items() if k != "SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS"}
    from_file["SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS_FILE"] = "groups.yaml"

    expected = load_settings(inline)
    actual = load_settings(from_file, module_folder=tmp_path)

    # Beside the carried variables, the file's name is kept only to name it in error messages.
    actual_dump = actual.model_dump(exclude={"carried_environment"})
    expected_dump = expected.model_dump(exclude={"carried_environment"})
    assert actual_dump["parameters"].pop("deployment_groups_file") == "groups.yaml"
    assert expected_dump["parameters"].pop("deployment_groups_file") is None
    assert actual_dump == expected_dump
    carried = dict(actual.carried_environment)
    assert carried.pop("SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS_FILE") == "groups.yaml"
    assert json.loads(expected.carried_environment["SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS"]) == groups
    assert carried == {
        k: v for k, v in expected.carried_environment.items() if k != "SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS"
    }


def test_the_documented_exit_code_through_the_cli(tmp_path: Path) -> None:
    """The README's promise, through the documented command: the CLI's 1, then the app's own lines."""
    manifest = tmp_path / "bad.yaml"
    source = EXAMPLE_MANIFEST.read_text()
    manifest.write_text(source.replace("account: '123456789015'", "account: '12345'"))
    command = (
        "scripts/cdk.sh synth -c manifest={} -c group=models -c account=111111111111 -c region=us-east-1"
    )
    result = subprocess.run(
        [*shlex.split(command.format(manifest)), "--output", str(tmp_path / "cdk.out")],
        cwd=ROOT,
        env=clean_environment({}),
        capture_output=True,
        text=True,
        check=False,
    )
    readme = (ROOT / "README.md").read_text()
    assert "(`python app.py`) exits with code 2" in readme
    assert "exits with code 1 and adds one line of its own" in readme
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0] == "error: deployment-groups[1].buildEnvironment.account: must be 12 digits, got '12345'"
    assert lines[1].endswith("app.py: Subprocess exited with error 2"), lines
    assert len(lines) == 2, lines
