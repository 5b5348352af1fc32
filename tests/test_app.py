"""The app as users run it: bad input gets one clear line per problem, exit code 2, no traceback."""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
import yaml

from app import CDK_JSON, main
from seedfarmer_manifest import manifest_environment
from settings import SettingsError, load_settings
from stack import MlopsCicdStack
from tests.conftest import ROOT, Synth, manifest_parameters, seedfarmer_environment


@dataclass
class AppResult:
    returncode: int
    stderr: str


def run_app(env: dict[str, str]) -> AppResult:
    """``app.main`` in this process, given ``env`` as its whole environment (no CDK import per test).

    An exception escapes and fails the test, so no test here needs to look for a traceback; the CLI
    path itself is proven once, through the documented command (test_docs).
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


def test_manifest_value_from_cannot_be_resolved_offline(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "name: models\nparameters:\n  - name: infra-repo\n    valueFrom:\n      parameterStore: /infra/repo\n"
    )
    with pytest.raises(SettingsError) as raised:
        manifest_environment(str(manifest), {"account": "111111111111", "region": "us-east-1"}, {})
    assert raised.value.problems == [
        f"infra-repo: valueFrom (parameterStore) cannot be resolved offline; give it a literal value in a "
        f"copy of {manifest}"
    ]


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


def test_a_synth_ends_with_a_short_plan(example_synth: Synth) -> None:
    log = example_synth.log
    assert "Plan: mlops-demo-models-sagemaker-model-cicd in tooling account 111111111111 (us-east-1)" in log
    assert "  as seedfarmer module models-sagemaker-model-cicd of deployment demo, project mlops\n" in log
    assert "  group prod-deployment-group: trains in 123456789015 (us-east-1, preprod)" in log
    assert (
        "      1. preprod side by side:\n"
        "         -> prod-train-env: 123456789015 (us-east-1, preprod)\n"
        "         -> prod-approval-env: 123456789016 (us-east-1, preprod)\n"
        "      2. prod, after a manual approval:\n"
        "         -> prod-env: 123456789017 (us-east-1, prod)\n"
    ) in log
    assert "model-build-repo@dev (CodeCommit)" in log


def test_manifest_file_wins_over_seedfarmer_variables_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What ``-c manifest=`` hands the app (the Quick start synthesizes through it end to end)."""
    environ = seedfarmer_environment()
    environ["SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS"] = "not even json"
    manifest = str(ROOT / "examples" / "sample-ml-model-name.yaml")
    env = manifest_environment(manifest, {"project": "trial", "account": "222222222222"}, environ)
    assert "warning: -c manifest=" in capsys.readouterr().err
    groups = json.loads(env["SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS"])
    assert [g["name"] for g in groups] == ["experimenation-deployment-group", "prod-deployment-group"]
    assert env["SEEDFARMER_PARAMETER_INFRA_REPO"] == '{"host": "codecommit", "name": "cdk-infra-repo"}'
    assert (env["SEEDFARMER_PROJECT_NAME"], env["SEEDFARMER_DEPLOYMENT_NAME"]) == ("trial", "local")
    assert env["SEEDFARMER_MODULE_NAME"] == "sample-ml-model-name"
    assert env["CDK_DEFAULT_ACCOUNT"] == "222222222222"
    assert env["CDK_DEFAULT_REGION"] == "us-east-1", "from the environment when -c region= is not given"


@pytest.mark.parametrize(
    ("context", "module", "note"),
    [
        ({"group": "models"}, "models-sample-ml-model-name", False),
        ({}, "sample-ml-model-name", True),
        ({"group": "models", "module": "models-override"}, "models-override", False),
    ],
)
def test_the_module_is_named_as_seedfarmer_names_it(
    context: dict[str, str], module: str, note: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seedfarmer names the module <group>-<module>; every name the module creates derives from it."""
    manifest = str(ROOT / "examples" / "sample-ml-model-name.yaml")
    env = manifest_environment(manifest, context, {})
    assert env["SEEDFARMER_MODULE_NAME"] == module
    assert ("note: no -c group=" in capsys.readouterr().err) is note


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
    import aws_cdk as cdk

    from app import validation_plugins

    plugins = validation_plugins(cdk.App(context=context))
    assert [type(plugin).__name__ for plugin in plugins] == expected


CARRIED_GROUPS = {"SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS", "SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS_FILE"}


def _templates(environ: dict[str, str], module_folder: Path, outdir: Path) -> dict[str, str]:
    """Every template of the module's app, as app.build_app builds it (cdk-nag, which adds nothing, aside)."""
    app = cdk.App(
        # As the CLI runs the app: path and asset metadata on.
        context={
            **json.loads(CDK_JSON.read_text())["context"],
            "aws:cdk:enable-path-metadata": True,
            "aws:cdk:enable-asset-metadata": True,
        },
        outdir=str(outdir),
        analytics_reporting=False,
    )
    MlopsCicdStack(app, "MlopsCicd", settings=load_settings(environ, module_folder=module_folder))
    app.synth()
    return {path.relative_to(outdir).as_posix(): path.read_text() for path in outdir.rglob("*.template.json")}


def _without_carried_groups(template: str) -> object:
    """The template less the pipelines' carried groups variable and the project hash CDK derives from it."""

    def strip(node: object) -> object:
        if isinstance(node, dict):
            return {key: strip(value) for key, value in node.items()}
        if isinstance(node, list):
            return [
                strip(item)
                for item in node
                if not (isinstance(item, dict) and item.get("Name") in CARRIED_GROUPS)
            ]
        if isinstance(node, str):
            return re.sub(r'(_PROJECT_CONFIG_HASH","type":"PLAINTEXT","value":")[0-9a-f]+', r"\1", node)
        return node

    return strip(json.loads(template))


def test_groups_from_a_file_synthesize_the_same_templates(tmp_path: Path, example_synth: Synth) -> None:
    """The file changes what seedfarmer stores, not what deploys; the pipelines carry its name instead.

    The same groups inline are the suite's shared example synth (its CLI run writes the same templates).
    """
    parameters = manifest_parameters()
    (groups,) = [p["value"] for p in parameters if p["name"] == "deployment-groups"]
    (tmp_path / "module").mkdir()
    (tmp_path / "module" / "groups.yaml").write_text(yaml.safe_dump(groups))
    inline = seedfarmer_environment(parameters)
    from_file = {k: v for k, v in inline.items() if k != "SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS"}
    from_file["SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS_FILE"] = "groups.yaml"

    outdir = example_synth.outdir
    expected = {
        path.relative_to(outdir).as_posix(): path.read_text() for path in outdir.rglob("*.template.json")
    }
    actual = _templates(from_file, tmp_path / "module", tmp_path / "file")

    assert sorted(actual) == sorted(expected)
    carrying = {
        name for name, text in actual.items() if "SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS_FILE" in text
    }
    # The infra pipeline and each group's deploy pipeline re-synthesize, reading the file by its name.
    assert carrying == {
        name for name, text in expected.items() if "SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS" in text
    }
    assert len(carrying) == 3
    for name in actual:
        if name in carrying:
            assert _without_carried_groups(actual[name]) == _without_carried_groups(expected[name]), name
        else:
            assert actual[name] == expected[name], name
