"""The build-support stack (stages/build_support.py): who may read its data, what it keeps, and what a change
of environment type does to the data it keeps."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import TOOLING_ACCOUNT, Synth
from tests.template_harness import PROD_NAMES, account_root, resources, statements_by_sid


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


def _endpoint_role_arns(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    f":iam::{a}:role/{PROD_NAMES.endpoint_execution_role(e)}",
                ],
            ]
        }
        for a, e in pairs
    ]


PROD_ENDPOINT_ROLES = _endpoint_role_arns(("123456789016", "prod-approval-env"), ("123456789017", "prod-env"))


def test_artifacts_bucket_lets_only_endpoint_roles_read_only_models(example_synth: Synth) -> None:
    """Deploy accounts read the models prefix through their endpoint roles (and the samples prefix through
    their smoke-test roles: test_access.py); the tooling account nothing."""
    policies = resources(example_synth, "prod-deployment-group/BuildSupport", "AWS::S3::BucketPolicy")
    artifacts = next(p for p in policies.values() if "ArtifactsBucket" in json.dumps(p["Bucket"]))
    allows = [s for s in artifacts["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert [s["Sid"] for s in allows] == [
        "EndpointRolesReadModelArtifacts",
        "SmokeTestRolesReadSamplePayloads",
    ]
    read, samples = allows
    assert read["Action"] == samples["Action"] == "s3:GetObject"
    assert read["Resource"]["Fn::Join"][1][1] == "/models/*"
    assert samples["Resource"]["Fn::Join"][1][1] == "/samples/*"
    deploy_accounts = {"AWS": [account_root("123456789016"), account_root("123456789017")]}
    assert read["Principal"] == samples["Principal"] == deploy_accounts
    assert read["Condition"] == {"ArnEquals": {"aws:PrincipalArn": PROD_ENDPOINT_ROLES}}
    assert TOOLING_ACCOUNT not in json.dumps(artifacts)

    keys = resources(example_synth, "prod-deployment-group/BuildSupport", "AWS::KMS::Key")
    artifacts_key = next(k for logical_id, k in keys.items() if logical_id.startswith("ArtifactsKey"))
    decrypt = statements_by_sid(artifacts_key["KeyPolicy"])["EndpointRolesDecryptModelArtifactsThroughS3"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": PROD_ENDPOINT_ROLES},
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
    }
    assert TOOLING_ACCOUNT not in json.dumps(artifacts_key)


def test_model_images_are_pulled_only_by_endpoint_roles(example_synth: Synth) -> None:
    (repository,) = resources(
        example_synth, "prod-deployment-group/BuildSupport", "AWS::ECR::Repository"
    ).values()
    assert repository["ImageTagMutability"] == "IMMUTABLE"
    assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert repository["EncryptionConfiguration"]["EncryptionType"] == "KMS"
    assert repository["EmptyOnDelete"] is False  # a preprod build account keeps its images
    (pull,) = repository["RepositoryPolicyText"]["Statement"]
    assert pull["Condition"] == {"ArnEquals": {"aws:PrincipalArn": PROD_ENDPOINT_ROLES}}
    assert not any(a.startswith(("ecr:Put", "ecr:Upload", "ecr:Delete")) for a in pull["Action"])
    (dev,) = resources(
        example_synth, "experimenation-deployment-group/BuildSupport", "AWS::ECR::Repository"
    ).values()
    assert dev["EmptyOnDelete"] is True


RETAINED_KINDS = ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::SageMaker::ModelPackageGroup")


def test_preprod_and_prod_build_accounts_keep_what_they_trained(example_synth: Synth) -> None:
    """Bucket, log bucket, keys and registry outlive their stack; nothing empties them."""
    template = example_synth.stack("prod-deployment-group/BuildSupport").template
    retained = [r for r in template["Resources"].values() if r["Type"] in RETAINED_KINDS]
    assert len(retained) == 5
    for resource in retained:
        assert resource["DeletionPolicy"] == "Retain"
        assert resource["UpdateReplacePolicy"] == "Retain"
    custom = [r for r in template["Resources"].values() if r["Type"].startswith("Custom::")]
    # The registry cleanup is there in every type, so a type change updates it; here it never deletes.
    assert [(r["Type"], r["Properties"]["DeleteVersionsWithStack"]) for r in custom] == [
        ("Custom::ModelRegistryCleanup", "false")
    ]


def test_dev_build_accounts_clean_up_after_themselves(example_synth: Synth) -> None:
    template = example_synth.stack("experimenation-deployment-group/BuildSupport").template
    resources = template["Resources"]
    for resource in (r for r in resources.values() if r["Type"] in ("AWS::S3::Bucket", "AWS::KMS::Key")):
        assert resource["DeletionPolicy"] == "Delete"
    assert len([r for r in resources.values() if r["Type"] == "Custom::S3AutoDeleteObjects"]) == 2
    (group_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::SageMaker::ModelPackageGroup"]
    assert "DeletionPolicy" not in resources[group_id]
    (cleanup,) = [r for r in resources.values() if r["Type"] == "Custom::ModelRegistryCleanup"]
    assert cleanup["DependsOn"] == [group_id], "emptied before CloudFormation deletes the group"
    assert cleanup["Properties"]["DeleteVersionsWithStack"] == "true"
    assert (
        cleanup["Properties"]["ModelPackageGroupName"]
        == resources[group_id]["Properties"]["ModelPackageGroupName"]
    )
