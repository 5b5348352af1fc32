"""The build-support stack in-process: what a change of environment type does to the data it keeps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from blocks.governance import Governance
from names import GroupNames
from stages.build_support import BuildSupportStack, EndpointReader

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
NAMES = GroupNames(
    prefix="mlops-demo-models-cicd-fraud", build_account="222222222222", build_region="eu-west-1"
)
GOVERNANCE = Governance(tags={}, tooling_account="111111111111")


def _template(*, retain: bool) -> dict[str, Any]:
    app = cdk.App(context=CONTEXT)
    stack = BuildSupportStack(
        app,
        "BuildSupport",
        env=cdk.Environment(account=NAMES.build_account, region=NAMES.build_region),
        governance=GOVERNANCE,
        names=NAMES,
        tooling_region="us-east-1",
        endpoint_readers=[
            EndpointReader(account="333333333333", role_name=NAMES.endpoint_execution_role("prod"))
        ],
        retain=retain,
        stack_name="build-support",
    )
    template: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    return template


@pytest.fixture(scope="module")
def dev_then_preprod() -> tuple[dict[str, Any], dict[str, Any]]:
    return _template(retain=False), _template(retain=True)


def test_turning_dev_into_preprod_deletes_nothing(
    dev_then_preprod: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """CloudFormation deletes what leaves the template: data resources stay, the cleanup only updates."""
    dev, preprod = (t["Resources"] for t in dev_then_preprod)
    removed = {logical_id: dev[logical_id]["Type"] for logical_id in set(dev) - set(preprod)}
    # CDK's auto-delete handler empties a bucket on Delete only while the bucket carries the tag
    # aws-cdk:auto-delete-objects=true (aws-cdk-lib's auto-delete-objects handler); the bucket update that
    # drops the tag runs before CloudFormation's cleanup phase deletes the handler's resource.
    auto_delete = {"Custom::S3AutoDeleteObjects", "AWS::Lambda::Function", "AWS::IAM::Role"}
    assert set(removed.values()) <= auto_delete, f"an update to preprod would delete {removed}"
    for logical_id, resource in preprod.items():
        if resource["Type"] == "AWS::S3::Bucket":
            tags = {t["Key"] for t in resource["Properties"].get("Tags", [])}
            assert "aws-cdk:auto-delete-objects" not in tags, logical_id
    (cleanup_id,) = [i for i, r in dev.items() if r["Type"] == "Custom::ModelRegistryCleanup"]
    assert dev[cleanup_id]["Properties"]["DeleteVersionsWithStack"] == "true"
    assert preprod[cleanup_id]["Properties"]["DeleteVersionsWithStack"] == "false"
    keeps = ("AWS::SageMaker::ModelPackageGroup", "AWS::S3::Bucket", "AWS::KMS::Key", "AWS::ECR::Repository")
    for logical_id, resource in preprod.items():
        if resource["Type"] in keeps:
            assert resource["DeletionPolicy"] == "Retain", logical_id


def test_the_cleanup_may_read_only_its_own_stack(
    dev_then_preprod: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    dev, _ = dev_then_preprod
    statements = [
        s
        for r in dev["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    (describe,) = [s for s in statements if s.get("Sid") == "ReadOwnStackStatus"]
    assert describe["Action"] == "cloudformation:DescribeStacks"
    assert describe["Resource"] == {"Ref": "AWS::StackId"}
