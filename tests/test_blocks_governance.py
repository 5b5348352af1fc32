"""Governance (blocks/governance.py): every role of every stack bounded, every stack and resource tagged,
within AWS's tag limit."""

from __future__ import annotations

import json

import pytest

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
