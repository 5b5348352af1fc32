"""The build-support stack: what a change of environment type does to the data it keeps."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Synth


@pytest.fixture(scope="module")
def dev_then_preprod(example_synth: Synth) -> tuple[dict[str, Any], dict[str, Any]]:
    """The README example's two build-support stacks: its groups train in a dev and a preprod account.

    Logical ids do not depend on the group, so the two are what one group's stack becomes when its build
    environment turns from dev into preprod.
    """
    return (
        example_synth.stack("experimenation-deployment-group/BuildSupport").template,
        example_synth.stack("prod-deployment-group/BuildSupport").template,
    )


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
