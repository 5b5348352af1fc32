"""examples/model-build-repo against the module: the variables it uses are exactly those the model
build project sets, and the pipeline it defines from a project's values lands in that group's
registry, bucket, key and roles. Its SageMaker SDK lives in its own venv (the Quick start makes it).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import (
    MODEL_BUILD_REPO,
    ModelBuildRepoRuns,
    StackArtifact,
    Synth,
    model_build_project_variables,
)


def contract_variables() -> list[str]:
    """The example's own contract, read from its file (stdlib only, so no SDK is needed here)."""
    spec = importlib.util.spec_from_file_location(
        "model_build_contract", MODEL_BUILD_REPO / "pipelines" / "contract.py"
    )
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    variables: list[str] = module.BuildContract.variables()
    return variables


def synthesized_contracts(synth: Synth) -> dict[str, dict[str, str]]:
    """Per group, the variables its synthesized model build project sets."""
    contracts = {}
    for stack in synth.stacks.values():
        variables = model_build_project_variables(stack.template)
        if variables:
            contracts[stack.display_name.split("/")[1]] = variables
    return contracts


def buildspec_references() -> set[str]:
    """Variables the buildspec reads that it does not set itself or get from CodeBuild."""
    buildspec = yaml.safe_load((MODEL_BUILD_REPO / "buildspec.yml").read_text())
    commands = " ".join(
        command for phase in buildspec["phases"].values() for command in phase.get("commands", [])
    )
    read = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", commands))
    assigned = set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)=", commands))
    assigned |= {name for names in re.findall(r"\bread -r ([a-z_ ]+)", commands) for name in names.split()}
    own = assigned | set(buildspec["env"]["variables"])
    return {name for name in read - own if not name.startswith("CODEBUILD_")}


def python_sources() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text()) for path in sorted(MODEL_BUILD_REPO.glob("[ps]*/*.py"))}


def test_it_uses_exactly_the_variables_the_model_build_project_sets(example_synth: Synth) -> None:
    contract = contract_variables()
    contracts = synthesized_contracts(example_synth)
    assert sorted(contracts) == ["experimenation-deployment-group", "prod-deployment-group"]
    for variables in contracts.values():
        assert sorted(variables) == sorted(contract)
    # The buildspec reads only the contract: it assumes ASSUME_ROLE_ARN and gives the SDK BUILD_REGION.
    assert buildspec_references() == {"ASSUME_ROLE_ARN", "BUILD_REGION"}
    # The Python reads the environment in one place, the contract, and uses every field of it.
    readers = {
        path.relative_to(MODEL_BUILD_REPO).as_posix()
        for path, tree in python_sources().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}
    }
    assert readers == {"pipelines/contract.py"}
    used = {
        node.attr
        for path, tree in python_sources().items()
        if path.name != "contract.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "contract"
    }
    assert {name.lower() for name in contract} <= used


def test_the_example_repository_tests_pass(model_build_repo_runs: ModelBuildRepoRuns) -> None:
    result = model_build_repo_runs.tests()
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert re.search(r"\b\d+ passed\b", result.stdout)


def resource_values(stack: StackArtifact, kind: str, name: str) -> set[str]:
    return {
        str(resource["Properties"].get(name))
        for resource in stack.template["Resources"].values()
        if resource["Type"] == kind
    }


def test_its_pipelines_land_in_what_each_build_support_stack_creates(
    example_synth: Synth, model_build_repo_runs: ModelBuildRepoRuns
) -> None:
    contracts = synthesized_contracts(example_synth)
    result = model_build_repo_runs.definitions(list(contracts.values()))
    assert result.returncode == 0, result.stderr[-5000:]
    definitions: list[dict[str, Any]] = json.loads(result.stdout)
    assert len(definitions) == len(contracts) == 2

    for group, definition in zip(contracts, definitions, strict=True):
        support = example_synth.stack(f"{group}/BuildSupport")
        register = definition["Steps"][-1]["Arguments"]["IfSteps"][0]["Arguments"]
        assert {register["ModelPackageGroupName"]} == resource_values(
            support, "AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupName"
        )
        assert register["ModelApprovalStatus"] == "PendingManualApproval"

        train = definition["Steps"][1]["Arguments"]
        role_prefix = f"arn:aws:iam::{support.account}:role/service-role/"
        assert train["RoleArn"].startswith(role_prefix)
        assert train["RoleArn"].removeprefix(role_prefix) in resource_values(
            support, "AWS::IAM::Role", "RoleName"
        )
        output = train["OutputDataConfig"]
        assert output["S3OutputPath"].split("/")[2] in resource_values(
            support, "AWS::S3::Bucket", "BucketName"
        )
        (alias,) = resource_values(support, "AWS::KMS::Alias", "AliasName")
        assert output["KmsKeyId"] == f"arn:aws:kms:{support.region}:{support.account}:{alias}"
        # Models under the one prefix deploy accounts may read.
        assert output["S3OutputPath"].split("/")[3] == "models"
