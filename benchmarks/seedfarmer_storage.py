"""What ``seedfarmer apply`` stores in SSM for this module, measured through seedfarmer's own code, offline.

Run: ``.venv/bin/python -m benchmarks.seedfarmer_storage`` (``--groups 1 50`` to pick sizes). For N groups
from :func:`benchmarks.synth_benchmark.groups`, around the README example's module manifest, it prints
the length of every SSM value seedfarmer writes for the module and the largest N whose values all fit.

Seedfarmer (8.0.9) writes each value with ``Tier="Intelligent-Tiering"`` (services/_ssm.py), so a value
over 4 KB becomes an Advanced parameter and one over 8 KB is refused. Before the module's stacks deploy,
``prepare_ssm_for_deploy`` (mgmt/deploy_utils.py) writes the module manifest, parameters included (nulls
dropped once it passes 8191 bytes as ``sys.getsizeof`` counts), the deployspec and two md5s; after they
deployed, the CodeBuild job stores the metadata: the ``metadata`` output plus the keys seedfarmer adds
(mgmt/metadata_support.py, deployment/deploy_remote.py). Here those very functions run, against a
stub SSM client that records what would be written.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import seedfarmer
import yaml
from seedfarmer.mgmt import deploy_utils, metadata_support, module_info
from seedfarmer.models import ProjectSpec
from seedfarmer.models._deploy_spec import DeploySpec
from seedfarmer.models.manifests import ModuleManifest
from seedfarmer.services import _ssm

from benchmarks.synth_benchmark import groups
from names import infra_pipeline
from outputs import module_metadata, to_json

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_MANIFEST = ROOT / "examples" / "sample-ml-model-name.yaml"
DEPLOYSPEC = ROOT / "deployspec.yaml"
SSM_VALUE_LIMIT = 8192
"""Characters an Advanced-tier SSM parameter holds (Standard: 4096)."""
PROJECT, DEPLOYMENT, GROUP = "mlops", "demo", "models"
TOOLING_ACCOUNT, TOOLING_REGION = "111111111111", "us-east-1"
GROUPS_FILE = "deployment-groups.yaml"


class _NeverRaisedError(Exception):
    """The recording client never throttles nor misses a parameter."""


class _RecordingSsm:
    """Stands in for boto3's SSM client: keeps what seedfarmer puts, by parameter name."""

    exceptions = SimpleNamespace(TooManyUpdates=_NeverRaisedError, ParameterNotFound=_NeverRaisedError)

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def put_parameter(self, **request: Any) -> None:
        assert request["Tier"] == "Intelligent-Tiering", request["Tier"]
        self.values[request["Name"]] = request["Value"]

    def delete_parameters(self, **request: Any) -> dict[str, list[str]]:
        for name in request["Names"]:
            self.values.pop(name, None)
        return {"DeletedParameters": request["Names"], "InvalidParameters": []}


@contextlib.contextmanager
def _seedfarmer_offline(ops_root: Path) -> Iterator[_RecordingSsm]:
    """Seedfarmer's project config and SSM client, faked for the duration; restored after."""
    client = _RecordingSsm()
    config = seedfarmer.config
    saved = (config._project_spec, config._OPS_ROOT)
    config._project_spec = ProjectSpec(project=PROJECT)
    config._OPS_ROOT = str(ops_root)
    try:
        with (
            mock.patch.object(_ssm, "boto3_client", return_value=client),
            mock.patch.object(deploy_utils, "SessionManager"),
        ):
            yield client
    finally:
        config._project_spec, config._OPS_ROOT = saved


def module_parameters(group_count: int, *, from_file: bool = False) -> list[dict[str, Any]]:
    """The README example's parameters with ``group_count`` benchmark groups, inline or by file name."""
    parameters: list[dict[str, Any]] = yaml.safe_load(EXAMPLE_MANIFEST.read_text())["parameters"]
    others = [p for p in parameters if p["name"] != "deployment-groups"]
    if from_file:
        return [*others, {"name": "deployment-groups-file", "value": GROUPS_FILE}]
    return [*others, {"name": "deployment-groups", "value": groups(group_count)}]


def metadata_output(module_name: str) -> dict[str, str]:
    """The top stack's ``metadata`` output as ``cdk deploy`` exports it (the ARN resolved)."""
    stack_name = f"{PROJECT}-{DEPLOYMENT}-{module_name}"
    pipeline = infra_pipeline(stack_name)
    return module_metadata(
        stack_name=stack_name,
        infra_pipeline_name=pipeline,
        infra_pipeline_arn=f"arn:aws-us-gov:codepipeline:{TOOLING_REGION}:{TOOLING_ACCOUNT}:{pipeline}",
    )


def _seedfarmer_additions(module_name: str) -> dict[str, str]:
    """What seedfarmer's CodeBuild job adds to the metadata, each as long as it gets in practice."""
    build = f"codebuild-{PROJECT}-{DEPLOYMENT}-{GROUP}-{module_name}"[:150]
    build_id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    log_group = f"/aws/codebuild/{build}"
    return {
        "SeedFarmerDeployed": seedfarmer.__version__,
        "ModuleDeploymentRoleName": "r" * 64,  # IAM's limit; seedfarmer shortens longer names
        "SeedFarmerModuleCommitHash": "0" * 40,  # only for modules pulled from git
        "CodeBuildBuildUrl": (
            f"https://{TOOLING_REGION}.console.aws.amazon.com/codesuite/codebuild/{TOOLING_ACCOUNT}/projects/"
            f"{build}/build/{build}%3A{build_id}/?region={TOOLING_REGION}"
        ),
        "CloudWatchLogStream": f"{log_group}/{build_id}",
        "CloudWatchLogStreamArn": (
            f"arn:aws-us-gov:logs:{TOOLING_REGION}:{TOOLING_ACCOUNT}:log-group:{log_group}:log-stream:{build_id}"
        ),
    }


def _store_metadata(ops_root: Path, module_name: str, previous: str) -> None:
    """The CodeBuild job's metadata steps: convert the CDK outputs, add seedfarmer's keys, store.

    ``previous`` is what seedfarmer hands the job as SEEDFARMER_MODULE_METADATA (the last deploy's
    metadata); the deployspec unsets it, which ``""`` stands for.
    """
    module = ops_root / "module"
    stack_name = f"{PROJECT}-{DEPLOYMENT}-{module_name}"
    (module / "cdk-exports.json").write_text(
        json.dumps({stack_name: {"metadata": to_json(metadata_output(module_name))}})
    )
    variables = {
        "SEEDFARMER_PROJECT_NAME": PROJECT,
        "SEEDFARMER_DEPLOYMENT_NAME": DEPLOYMENT,
        "SEEDFARMER_MODULE_NAME": module_name,
        "SEEDFARMER_MODULE_METADATA": previous,
    }
    with mock.patch.dict(os.environ, variables), contextlib.chdir(module):
        metadata_support.convert_cdkexports(json_file="cdk-exports.json")
        for key, value in _seedfarmer_additions(module_name).items():
            metadata_support.add_kv_output(key, value)
        # `echo $SEEDFARMER_MODULE_METADATA | seedfarmer store moduledata ...` (cli_groups/_store_group.py)
        stored = yaml.safe_load((module / "SEEDFARMER_MODULE_METADATA").read_text())
    module_info.write_metadata(deployment=DEPLOYMENT, group=GROUP, module=module_name, data=stored)


def stored_values(parameters: list[dict[str, Any]], *, previous_metadata: str = "") -> dict[str, str]:
    """Every SSM value seedfarmer writes for the module, by the last part of its name."""
    manifest: dict[str, Any] = yaml.safe_load(EXAMPLE_MANIFEST.read_text())
    module_name = str(manifest["name"])
    with tempfile.TemporaryDirectory() as directory, _seedfarmer_offline(Path(directory)) as ssm:
        (Path(directory) / "module").mkdir()
        (Path(directory) / "module" / "deployspec.yaml").write_text(DEPLOYSPEC.read_text())
        module = ModuleManifest(
            name=module_name,
            path=manifest["path"],
            target_account=manifest["targetAccount"],
            target_region=TOOLING_REGION,
            parameters=parameters,
            deploy_spec=DeploySpec(**yaml.safe_load(DEPLOYSPEC.read_text())),
            bundle_md5="0" * 32,  # an md5 is 32 hex digits, whatever the bundle
        )
        # As commands/_deployment_commands.py computes them before deciding to deploy.
        module.manifest_md5 = hashlib.md5(
            json.dumps(module.model_dump(), sort_keys=True).encode(), usedforsecurity=False
        ).hexdigest()
        module.deployspec_md5 = hashlib.md5(DEPLOYSPEC.read_bytes(), usedforsecurity=False).hexdigest()
        deploy_utils.prepare_ssm_for_deploy(DEPLOYMENT, GROUP, module, TOOLING_ACCOUNT, TOOLING_REGION)
        _store_metadata(Path(directory), module_name, previous_metadata)
        prefix = f"/{PROJECT}/{DEPLOYMENT}/{GROUP}/{module_name}/"
        return {name.removeprefix(prefix): value for name, value in ssm.values.items()}


def sizes(group_count: int, *, from_file: bool = False) -> dict[str, int]:
    """The length of each stored value for ``group_count`` groups."""
    values = stored_values(module_parameters(group_count, from_file=from_file))
    return {name: len(value) for name, value in sorted(values.items())}


def fits(measured: Mapping[str, int]) -> bool:
    return max(measured.values()) <= SSM_VALUE_LIMIT


def largest_inline_group_count(ceiling: int = 200) -> int:
    """The most benchmark groups ``seedfarmer apply`` can store with ``deployment-groups`` inline."""
    count = 1
    while count < ceiling and fits(sizes(count + 1)):
        count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, nargs="+", default=[1, 2, 8, 20, 50])
    args = parser.parse_args()
    columns = list(sizes(1))
    print(f"Characters per SSM value (limit {SSM_VALUE_LIMIT}); seedfarmer {seedfarmer.__version__}")
    print()
    print(f"| groups | {' | '.join(columns)} | fits |")
    print(f"| ---: | {' | '.join('---:' for _ in columns)} | --- |")
    for count in args.groups:
        for from_file in (False, True):
            measured = sizes(count, from_file=from_file)
            label = f"{count} (file)" if from_file else str(count)
            cells = " | ".join(str(measured.get(column, "")) for column in columns)
            print(f"| {label} | {cells} | {'yes' if fits(measured) else 'no'} |")
    print()
    print(f"Largest number of groups inline: {largest_inline_group_count()}")


if __name__ == "__main__":
    main()
