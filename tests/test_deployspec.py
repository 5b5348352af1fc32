"""What seedfarmer runs (deployspec.yaml) and grants (modulestack.yaml), and the CDK CLI pin they share."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import seedfarmer
import yaml
from aws_cdk.cloud_assembly_schema import Manifest
from cfn_tools import load_yaml  # type: ignore[import-untyped]
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]
from packaging.version import Version
from seedfarmer.errors import InvalidManifestError
from seedfarmer.models import DeploySpec, ProjectSpec
from seedfarmer.utils import upper_snake_case

from blocks import pipelines as tooling
from tests.conftest import CDK_CLI, Synth, clean_environment

ROOT = Path(__file__).resolve().parent.parent
DEPLOYSPEC = ROOT / "deployspec.yaml"
MODULESTACK = ROOT / "modulestack.yaml"
CLI_PACKAGE = ROOT / "node_modules" / "aws-cdk"

PHASES = ("install", "pre_build", "build", "post_build")
CLI_INSTALL = re.compile(r"^npm install -g \"?aws-cdk@")
STACK_ENV = ("SEEDFARMER_PROJECT_NAME", "SEEDFARMER_DEPLOYMENT_NAME", "SEEDFARMER_MODULE_NAME")
# What seedfarmer fills for a module stack (seedfarmer.commands._stack_commands.deploy_module_stack),
# matched to the template's parameters by their UPPER_SNAKE_CASE names.
SEEDFARMER_MODULESTACK_PARAMETERS = {"PROJECT_NAME", "DEPLOYMENT_NAME", "MODULE_NAME", "ROLE_NAME"}


# --- deployspec.yaml ------------------------------------------------------------------------------


@pytest.fixture
def strict_seedfarmer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seedfarmer as a project with ``manifestValidationFailOnUnknownFields: true`` runs it.

    The models read that switch from seedfarmer.yaml, which this repository does not have.
    """
    project = ProjectSpec(project="test", manifest_validation_fail_on_unknown_fields=True)
    monkeypatch.setattr(seedfarmer.config, "_project_spec", project)


def raw_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(DEPLOYSPEC.read_text())
    return spec


@pytest.fixture
def spec(strict_seedfarmer: None) -> Any:
    """deployspec.yaml as seedfarmer reads it (commands/_deployment_commands.py)."""
    return DeploySpec(**raw_spec())


def commands(spec: Any, execution: str) -> list[str]:
    """Every command of ``deploy`` or ``destroy``, in the order CodeBuild runs them."""
    phases = getattr(spec, execution).phases
    return [command for phase in PHASES for command in getattr(phases, phase).commands]


def index_of(commands: list[str], pattern: str) -> int:
    found = [i for i, command in enumerate(commands) if re.search(pattern, command)]
    assert len(found) == 1, f"expected one command matching {pattern!r}, found {len(found)} in {commands}"
    return found[0]


def cdk_command(commands: list[str], verb: str) -> list[str]:
    return shlex.split(commands[index_of(commands, rf"^cdk {verb}\b")])


def test_strict_model_rejects_unknown_keys(strict_seedfarmer: None) -> None:
    with pytest.raises(InvalidManifestError):
        DeploySpec(**{"deploy": {"phases": {"biuld": {"commands": ["true"]}}}})


def test_deployspec_loads_in_seedfarmers_model(spec: Any) -> None:
    assert spec.deploy is not None
    assert spec.destroy is not None
    assert commands(spec, "deploy")
    assert commands(spec, "destroy")


def test_publishes_generic_env_variables(spec: Any) -> None:
    # Explicit, not the model's default: the app reads SEEDFARMER_PARAMETER_*, not <PROJECT>_PARAMETER_*.
    assert raw_spec()["publishGenericEnvVariables"] is True
    assert spec.publish_generic_env_variables is True


def test_cdk_tools_are_pinned_once_in_package_json() -> None:
    package = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    tools = tooling.pinned_cdk_tools()
    assert package == {"aws-cdk": tools.cli, "cdk-assets": tools.assets}
    assert lock["node_modules/aws-cdk"]["version"] == tools.cli
    assert lock["node_modules/cdk-assets"]["version"] == tools.assets
    for version in (tools.cli, tools.assets):
        assert str(Version(version)) == version, "an exact version, not a range"
    # Guides that tell users which CLI to install name the same one.
    for guide in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        named = re.findall(r"npm (?:install|i) [^\n`]*?aws-cdk@(\d[\w.]*)", guide.read_text())
        assert set(named) <= {tools.cli}, guide.name


def test_a_range_in_package_json_fails_the_synth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    package = tmp_path / "package.json"
    package.write_text(json.dumps({"devDependencies": {"aws-cdk": "^2.1148.1", "cdk-assets": "4.7.3"}}))
    monkeypatch.setattr(tooling, "PACKAGE_JSON", package)
    tooling.pinned_cdk_tools.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"aws-cdk must be pinned to an exact version, not '\^2"):
            tooling.pinned_cdk_tools()
    finally:
        tooling.pinned_cdk_tools.cache_clear()


def test_deployspec_installs_the_cli_version_package_json_pins(spec: Any, tmp_path: Path) -> None:
    """Run as CodeBuild runs them, in the module's folder, each install asks npm for the pinned CLI."""
    installs = [
        command
        for execution in ("deploy", "destroy")
        for command in commands(spec, execution)
        if CLI_INSTALL.match(command)
    ]
    assert len(installs) == 2, "deploy and destroy each install the CLI once"
    assert not [c for c in installs if re.search(r"aws-cdk@\d", c)], "read from package.json, not repeated"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text('#!/usr/bin/env bash\necho "$*" >> "$NPM_CALLS"\n')
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    path = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "NPM_CALLS": str(tmp_path / "npm-calls")}
    for command in installs:
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    expected = f"install -g aws-cdk@{tooling.pinned_cdk_tools().cli}"
    assert (tmp_path / "npm-calls").read_text().splitlines() == [expected, expected]


def test_deploy_installs_then_deploys_then_converts_then_starts_pipeline(spec: Any) -> None:
    deploy = commands(spec, "deploy")
    order = [
        index_of(deploy, CLI_INSTALL.pattern),
        index_of(deploy, r"^pip install -r requirements\.txt$"),
        index_of(deploy, r"^cdk deploy "),
        index_of(deploy, r"^seedfarmer metadata convert "),
        index_of(deploy, r"aws codepipeline start-pipeline-execution "),
    ]
    assert order == sorted(order)
    assert deploy[order[3]] == "seedfarmer metadata convert -f cdk-exports.json"
    assert not [command for command in deploy if "|| true" in command], "no failure may be swallowed"


def test_the_previous_deploys_metadata_is_not_carried_forward(spec: Any) -> None:
    """Seedfarmer's post-build steps would merge it in (see benchmarks/seedfarmer_storage.py)."""
    deploy = commands(spec, "deploy")
    unset = deploy.index("unset SEEDFARMER_MODULE_METADATA")
    assert unset > index_of(deploy, r"^seedfarmer metadata convert ")


def option(arguments: list[str], flag: str) -> str:
    assert arguments.count(flag) == 1, f"{flag} once in {arguments}"
    return arguments[arguments.index(flag) + 1]


def test_cdk_deploy_flags(spec: Any) -> None:
    deploy = cdk_command(commands(spec, "deploy"), "deploy")
    assert deploy[:3] == ["cdk", "deploy", "--all"]
    assert option(deploy, "--require-approval") == "never"
    assert option(deploy, "--outputs-file") == "./cdk-exports.json"
    assert option(deploy, "--app") == "python app.py"
    assert option(deploy, "-c") == "validate=true", "CDK's CloudFormation validation before deploying"


def test_cdk_destroy_mirrors_deploy(spec: Any) -> None:
    destroy = commands(spec, "destroy")
    assert index_of(destroy, CLI_INSTALL.pattern) < index_of(destroy, r"^cdk destroy ")
    index_of(destroy, r"^pip install -r requirements\.txt$")
    arguments = cdk_command(destroy, "destroy")
    assert arguments[:2] == ["cdk", "destroy"]
    assert arguments[-1] == "**", "every stack, the pipelines' stacks in other accounts included"
    assert "--force" in arguments
    assert option(arguments, "--app") == "python app.py"
    assert not [command for command in destroy if re.search(r"^cdk deploy|codepipeline", command)]


@pytest.fixture
def start_pipeline(spec: Any, tmp_path: Path) -> tuple[str, Path]:
    """The start-pipeline command, and a PATH directory whose ``aws`` records its arguments."""
    deploy = commands(spec, "deploy")
    command = deploy[index_of(deploy, r"aws codepipeline start-pipeline-execution ")]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    aws = bin_dir / "aws"
    aws.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$AWS_CALLS"\n')
    aws.chmod(aws.stat().st_mode | stat.S_IXUSR)
    return command, bin_dir


def run_in_codebuild_shell(
    command: str, bin_dir: Path, cwd: Path, stack_env: tuple[str, str, str]
) -> subprocess.CompletedProcess[str]:
    # seedfarmer's buildspec runs commands in bash, with the module's venv (hence `python`) on PATH.
    path = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    names = dict(zip(STACK_ENV, stack_env, strict=True))
    env = {**os.environ, "PATH": path, "AWS_CALLS": str(cwd / "aws-calls"), **names}
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def write_cdk_exports(directory: Path, stack_name: str, pipeline_name: str) -> None:
    metadata = json.dumps({"InfraPipelineName": pipeline_name, "InfraPipelineArn": "arn:aws:codepipeline:x"})
    exports = {stack_name: {"metadata": metadata}, f"{stack_name}-support-eu-west-1": {}}
    (directory / "cdk-exports.json").write_text(json.dumps(exports))


def test_starts_the_pipeline_named_in_the_stack_metadata(
    start_pipeline: tuple[str, Path], tmp_path: Path
) -> None:
    command, bin_dir = start_pipeline
    write_cdk_exports(tmp_path, "mlops-demo-models-cicd", "mlops-demo-models-cicd-infra")
    result = run_in_codebuild_shell(command, bin_dir, tmp_path, ("mlops", "demo", "models-cicd"))
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "aws-calls").read_text().splitlines()
    assert calls == ["codepipeline", "start-pipeline-execution", "--name", "mlops-demo-models-cicd-infra"]


def test_unreadable_pipeline_name_fails_before_calling_codepipeline(
    start_pipeline: tuple[str, Path], tmp_path: Path
) -> None:
    command, bin_dir = start_pipeline
    write_cdk_exports(tmp_path, "mlops-demo-other-module", "mlops-demo-other-module-infra")
    result = run_in_codebuild_shell(command, bin_dir, tmp_path, ("mlops", "demo", "models-cicd"))
    assert result.returncode != 0
    assert "KeyError" in result.stderr
    assert not (tmp_path / "aws-calls").exists()


# --- CLI and library compatibility ----------------------------------------------------------------


def test_cli_is_new_enough_for_the_librarys_cloud_assembly() -> None:
    # aws-cdk-lib writes Manifest.cli_version() into manifest.json as minimumCliVersion.
    minimum = Manifest.cli_version()
    assert minimum is not None
    assert Version(tooling.pinned_cdk_tools().cli) >= Version(minimum)


def test_installed_cli_reads_the_librarys_cloud_assembly() -> None:
    if not (CLI_PACKAGE / "package.json").is_file():
        pytest.skip("node_modules/aws-cdk is not installed (npm ci)")
    assert json.loads((CLI_PACKAGE / "package.json").read_text())["version"] == tooling.pinned_cdk_tools().cli
    # The CLI bundles its cloud-assembly-schema; it refuses assemblies whose major version is higher.
    bundle = (CLI_PACKAGE / "lib" / "index.js").read_text(encoding="utf-8")
    found = re.search(
        r'cloud-assembly-schema/schema/version\.json"[^}]*?revision:\s*(\d+)', bundle, re.DOTALL
    )
    assert found, "cannot find the CLI's bundled schema version"
    assert int(found.group(1)) >= Version(Manifest.version()).major


# --- modulestack.yaml -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """modulestack.yaml as seedfarmer reads it (cfn_tools.load_yaml)."""
    loaded: dict[str, Any] = load_yaml(MODULESTACK.read_text())
    return loaded


def statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    policies = list(template["Resources"].values())
    assert [policy["Type"] for policy in policies] == ["AWS::IAM::RolePolicy"]
    properties = policies[0]["Properties"]
    assert properties["RoleName"] == {"Ref": "RoleName"}
    found: list[dict[str, Any]] = properties["PolicyDocument"]["Statement"]
    return found


def by_action(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    granted: dict[str, dict[str, Any]] = {}
    for statement in statements(template):
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert action not in granted
            granted[action] = statement
    return granted


def test_modulestack_is_cfn_lint_clean() -> None:
    matches = lint_file(MODULESTACK, ManualArgs(regions=["us-east-1"], include_checks=["I"]))
    assert [str(match) for match in matches] == []


def test_modulestack_declares_the_parameters_seedfarmer_passes(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert {upper_snake_case(name) for name in parameters} == SEEDFARMER_MODULESTACK_PARAMETERS
    assert all(parameter["Type"] == "String" for parameter in parameters.values())


def test_modulestack_grants_only_what_the_deployspec_adds(template: dict[str, Any]) -> None:
    assert set(by_action(template)) == {"codepipeline:StartPipelineExecution", "sts:AssumeRole"}


def test_modulestack_scopes_start_pipeline_to_this_modules_pipelines(template: dict[str, Any]) -> None:
    """Tags, not names: a long or mixed-case project would otherwise miss a name pattern."""
    statement = by_action(template)["codepipeline:StartPipelineExecution"]
    assert statement["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:*"
    }
    assert statement["Condition"] == {
        "StringEquals": {
            "aws:ResourceTag/SeedFarmerDeploymentName": {"Ref": "DeploymentName"},
            "aws:ResourceTag/SeedFarmerModuleName": {"Ref": "ModuleName"},
        },
        "StringEqualsIgnoreCase": {"aws:ResourceTag/SeedFarmerProjectName": {"Ref": "ProjectName"}},
    }


def test_infra_pipeline_carries_the_tags_the_modulestack_checks(example_synth: Synth) -> None:
    (pipeline,) = [
        r
        for s, _, r in example_synth.resources("AWS::CodePipeline::Pipeline")
        if s.display_name == "MlopsCicd"
    ]
    tags = {t["Key"]: t["Value"] for t in pipeline["Properties"]["Tags"]}
    assert tags["SeedFarmerDeploymentName"] == "demo"
    assert tags["SeedFarmerModuleName"] == "models-sagemaker-model-cicd"


def test_modulestack_assumes_only_cdk_bootstrap_roles(template: dict[str, Any]) -> None:
    """Any account's: destroy removes the pipelines' stacks in build and deploy accounts too."""
    statement = by_action(template)["sts:AssumeRole"]
    assert statement["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/cdk-*"}
    roles = statement["Condition"]["StringEquals"]["iam:ResourceTag/aws-cdk:bootstrap-role"]
    assert set(roles) <= {"deploy", "file-publishing", "image-publishing", "lookup"}


def test_destroy_selects_every_stack_the_module_deploys(spec: Any, example_synth: Synth) -> None:
    """The destroy pattern, given to the pinned CLI over the README example's assembly."""
    pattern = cdk_command(commands(spec, "destroy"), "destroy")[-1]
    result = subprocess.run(
        [str(CDK_CLI), "ls", "--app", str(example_synth.outdir), pattern],
        capture_output=True,
        text=True,
        check=False,
        env=clean_environment({}),
    )
    assert result.returncode == 0, result.stderr
    listed = {line.split(" ")[0] for line in result.stdout.splitlines() if line.strip()}
    assert listed == set(example_synth.stacks)
