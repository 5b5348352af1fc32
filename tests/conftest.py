"""Shared synths: each configuration is synthesized once per test run and read by many tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from seedfarmer_manifest import parameter_environment

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_MANIFEST = ROOT / "examples" / "sample-ml-model-name.yaml"
CDK_CLI = ROOT / "node_modules" / ".bin" / "cdk"
TOOLING_ACCOUNT = "111111111111"
TOOLING_REGION = "us-east-1"
OWN_PREFIXES = ("SEEDFARMER_", "CDK_DEFAULT_", "APPROVED_MODEL_INFO", "CDK_CONTEXT_JSON", "CDK_OUTDIR")


def manifest_parameters(path: Path = EXAMPLE_MANIFEST) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = yaml.safe_load(path.read_text())["parameters"]
    return parameters


def seedfarmer_environment(
    parameters: list[dict[str, Any]] | None = None,
    *,
    project: str = "mlops",
    deployment: str = "demo",
    module: str = "models-sagemaker-model-cicd",
    account: str = TOOLING_ACCOUNT,
    region: str = TOOLING_REGION,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables ``seedfarmer apply`` sets for this module (generic names, as deployspec asks)."""
    env = parameter_environment(manifest_parameters() if parameters is None else parameters, "test")
    env.update(
        {
            "SEEDFARMER_PROJECT_NAME": project,
            "SEEDFARMER_DEPLOYMENT_NAME": deployment,
            "SEEDFARMER_MODULE_NAME": module,
            "SEEDFARMER_MODULE_METADATA": "",
            "CDK_DEFAULT_ACCOUNT": account,
            "CDK_DEFAULT_REGION": region,
        }
    )
    env.update(extra or {})
    return env


def clean_environment(variables: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without anything that configures the module, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(variables)
    return env


@dataclass
class StackArtifact:
    display_name: str
    stack_name: str
    account: str
    region: str
    template: dict[str, Any]
    tags: dict[str, str]
    assets_file: Path | None


@dataclass
class Synth:
    outdir: Path
    stacks: dict[str, StackArtifact] = field(default_factory=dict)

    def stack(self, suffix: str) -> StackArtifact:
        """The one stack whose display name ends with ``suffix``."""
        found = [s for name, s in self.stacks.items() if name.endswith(suffix)]
        assert len(found) == 1, f"{suffix}: {sorted(self.stacks)}"
        return found[0]

    def resources(self, kind: str) -> Iterator[tuple[StackArtifact, str, dict[str, Any]]]:
        for stack in self.stacks.values():
            for logical_id, resource in stack.template.get("Resources", {}).items():
                if resource["Type"] == kind:
                    yield stack, logical_id, resource


def read_assembly(outdir: Path) -> Synth:
    synth = Synth(outdir)
    for manifest_file in sorted(outdir.rglob("manifest.json")):
        manifest = json.loads(manifest_file.read_text())
        for artifact in manifest.get("artifacts", {}).values():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            props = artifact["properties"]
            account, _, region = artifact["environment"].removeprefix("aws://").partition("/")
            assets = [d for d in artifact.get("dependencies", []) if d.endswith(".assets")]
            synth.stacks[artifact["displayName"]] = StackArtifact(
                display_name=artifact["displayName"],
                stack_name=props.get("stackName", artifact["displayName"]),
                account=account,
                region=region,
                template=json.loads((manifest_file.parent / props["templateFile"]).read_text()),
                tags=props.get("tags", {}),
                assets_file=(manifest_file.parent / f"{assets[0]}.json") if assets else None,
            )
    return synth


def cli_synth(outdir: Path, env: Mapping[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    """Synthesize as seedfarmer's deployspec does: the pinned CDK CLI running ``python app.py``."""
    if not CDK_CLI.exists():
        pytest.fail(f"{CDK_CLI} is missing: run the Quick start's setup command (npm ci) first")
    return subprocess.run(
        [
            str(CDK_CLI),
            "synth",
            "--quiet",
            "--app",
            f"{sys.executable} app.py",
            "--output",
            str(outdir),
            *extra,
        ],
        cwd=ROOT,
        env=clean_environment(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="session")
def example_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The README example under seedfarmer's own variables, through the CLI that deployspec pins."""
    outdir = tmp_path_factory.mktemp("example") / "cdk.out"
    result = cli_synth(outdir, seedfarmer_environment())
    assert result.returncode == 0, result.stderr[-5000:]
    return read_assembly(outdir)


LONG_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "infra-repo",
        "value": {
            "host": "codecommit",
            "name": "Infra.Repo_With-Long-Name",
            "branch": "release/2026",
            "path": "modules/sagemaker/sagemaker-model-cicd",
        },
    },
    {"name": "model-build-repo", "value": {"host": "codecommit", "name": "model-build-repo"}},
    {"name": "permissions-boundary-name", "value": "OrgPermissionsBoundary"},
    {"name": "s3-access-logs-bucket-arn", "value": "arn:aws:s3:::org-tooling-access-logs"},
    {"name": "tags", "value": {"CostCenter": "ml-4242", "Owner": "platform"}},
    {
        "name": "deployment-groups",
        "value": [
            {
                "name": "Very-Long-Mixed-Case-Deployment-Group-Name-For-Limits-Testing-X",
                "sourceBranch": "feature/long-branch",
                "buildEnvironment": {
                    "name": "Build-Env-With-A-Long-Name",
                    "account": "123456789012",
                    "region": "eu-west-1",
                    "type": "prod",
                },
                "deployEnvironments": [
                    {"name": "Deploy-Env-With-A-Long-Name-Too", "account": "123456789013", "type": "prod"},
                ],
            },
            {
                "name": "Very-Long-Mixed-Case-Deployment-Group-Name-For-Limits-Testing-Y",
                "sourceBranch": "main",
                "buildEnvironment": {
                    "name": "train",
                    "account": "123456789012",
                    "region": "us-east-1",
                    "type": "dev",
                },
            },
        ],
    },
]


@pytest.fixture(scope="session")
def long_names_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Long, mixed-case names everywhere, a boundary, tags, a user log bucket and a second region."""
    outdir = tmp_path_factory.mktemp("long") / "cdk.out"
    env = seedfarmer_environment(
        LONG_PARAMETERS,
        project="Machine-Learning-Platform-Project",
        deployment="Production-Deployment-Name",
        module="Sagemaker-Group-Sagemaker-Model-Cicd-Module-Name",
        extra={"SEEDFARMER_PERMISSIONS_BOUNDARY_ARN": f"arn:aws:iam::{TOOLING_ACCOUNT}:policy/sf-boundary"},
    )
    result = cli_synth(outdir, env)
    assert result.returncode == 0, result.stderr[-5000:]
    return read_assembly(outdir)


def approved_model_environment(synth: Synth, group: str, version: int = 3) -> dict[str, str]:
    """What the deploy pipeline's synth sees after ``group`` approved a version of its model."""
    metadata = json.loads(synth.stack("MlopsCicd").template["Outputs"]["metadata"]["Value"])
    details = metadata["DeploymentGroups"][group]
    arn = (
        f"arn:aws:sagemaker:{details['BuildRegion']}:{details['BuildAccount']}:model-package/"
        f"{details['ModelPackageGroupName']}/{version}"
    )
    info = {
        "modelPackageArn": arn,
        "modelDataUrl": f"s3://{details['ArtifactsBucketName']}/training/model.tar.gz",
        "imageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
    }
    return {"APPROVED_MODEL_INFO": json.dumps(info), "APPROVED_MODEL_GROUP": group}


@pytest.fixture(scope="session")
def approved_synth(tmp_path_factory: pytest.TempPathFactory, example_synth: Synth) -> Synth:
    """The README example as the prod group's deploy pipeline synthesizes it after an approval."""
    outdir = tmp_path_factory.mktemp("approved") / "cdk.out"
    env = seedfarmer_environment(extra=approved_model_environment(example_synth, "prod-deployment-group"))
    result = cli_synth(outdir, env)
    assert result.returncode == 0, result.stderr[-5000:]
    return read_assembly(outdir)
