"""Governance (blocks/governance.py): every role of every stack bounded, every stack and resource tagged,
within AWS's tag limit."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest

from blocks.governance import Governance, GovernedStack, format_arn
from settings import CDK_TAG_KEYS, MODULE_TAG_KEYS, RESOURCE_TAG_LIMITS
from tests.conftest import TOOLING_ACCOUNT, Synth, SynthPool


def test_every_role_has_the_boundary_of_its_account(long_names_synth: Synth) -> None:
    roles = list(long_names_synth.resources("AWS::IAM::Role"))
    assert len(roles) > 10
    for stack, logical_id, role in roles:
        boundary = json.dumps(role["Properties"].get("PermissionsBoundary"))
        if stack.account == TOOLING_ACCOUNT:
            assert "policy/sf-boundary" in boundary, f"{stack.display_name}/{logical_id}"
        else:
            assert f"{stack.account}:policy/OrgPermissionsBoundary" in boundary, (
                f"{stack.display_name}/{logical_id}"
            )


def test_every_stack_carries_the_seedfarmer_and_user_tags(long_names_synth: Synth) -> None:
    expected = {
        "SeedFarmerProjectName": "Machine-Learning-Platform-Project",
        "SeedFarmerDeploymentName": "Production-Deployment-Name",
        "SeedFarmerModuleName": "Sagemaker-Group-Sagemaker-Model-Cicd-Module-Name",
        "CostCenter": "ml-4242",
        "Owner": "platform",
    }
    for name, stack in long_names_synth.stacks.items():
        assert expected.items() <= stack.tags.items(), name
    for stack, logical_id, role in long_names_synth.resources("AWS::IAM::Role"):
        tags = {t["Key"]: t["Value"] for t in role["Properties"].get("Tags", [])}
        assert expected.items() <= tags.items(), f"{stack.display_name}/{logical_id}"


@pytest.mark.parametrize("configuration", ["long", "approved", "manifest-three-accounts"])
def test_the_tag_limit_counts_every_tag_the_module_and_cdk_add(
    synth_pool: SynthPool, configuration: str
) -> None:
    """settings.TAGS_LIMIT holds only if no resource carries a tag it does not count, or an unlisted kind."""
    counted = set(MODULE_TAG_KEYS + CDK_TAG_KEYS)
    for stack in synth_pool.get(configuration).stacks.values():
        users = set(stack.tags) - counted
        assert set(stack.tags) - users <= set(MODULE_TAG_KEYS), stack.display_name
        for logical_id, resource in stack.template.get("Resources", {}).items():
            tags = resource.get("Properties", {}).get("Tags")
            if tags is None:
                continue
            keys = set(tags) if isinstance(tags, dict) else {t["Key"] for t in tags}
            where = f"{stack.display_name}/{logical_id} ({resource['Type']})"
            assert resource["Type"] in RESOURCE_TAG_LIMITS, where
            assert keys - users <= counted, where


@pytest.fixture(scope="module")
def governed_stacks() -> list[GovernedStack]:
    """Two small in-process stacks in two partitions, with the module's partition-literal flag; no synth."""
    app = cdk.App(context={"@aws-cdk/core:enablePartitionLiterals": True})
    governance = Governance(tags={"Owner": "platform"}, tooling_account="111111111111")
    return [
        GovernedStack(app, name, env=cdk.Environment(account=account, region=region), governance=governance)
        for name, account, region in (
            ("Aws", "111111111111", "us-east-1"),
            ("China", "222222222222", "cn-north-1"),
        )
    ]


ARNS: list[dict[str, Any]] = [
    {"service": "sagemaker", "resource": "model-package", "resource_name": "group/*"},
    {"service": "codepipeline", "resource": "pipeline", "region": "eu-west-1"},
    {"service": "sqs", "resource": "queue", "region": "eu-west-1", "account": "333333333333"},
    {"service": "iam", "resource": "role", "resource_name": "name", "region": ""},
    {
        "service": "logs",
        "resource": "log-group",
        "resource_name": "/aws/sagemaker/*",
        "arn_format": cdk.ArnFormat.COLON_RESOURCE_NAME,
    },
    {
        "service": "service",
        "resource": "kind",
        "resource_name": "name",
        "arn_format": cdk.ArnFormat.SLASH_RESOURCE_SLASH_RESOURCE_NAME,
    },
]


@pytest.mark.parametrize("components", ARNS, ids=[str(c) for c in ARNS])
def test_format_arn_joins_what_cdk_joins(
    governed_stacks: list[GovernedStack], components: dict[str, Any]
) -> None:
    """Joined in Python for a GovernedStack (no jsii round trip), the ARN CDK's own format_arn makes."""
    for stack in governed_stacks:
        assert format_arn(stack, **components) == stack.format_arn(**components), stack.node.id
