"""A group's stage of the infra pipeline (stages/deployment_group.py): the preflight that opens its wave knows
every name a redeploy could find in its way."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Synth

# Named here, not only through request.getfixturevalue, so that conftest runs this module once they are ready
# rather than first, waiting.
pytestmark = pytest.mark.usefixtures("example_synth", "long_names_synth")

_NAME_PROPERTIES = (
    "BucketName",
    "ModelPackageGroupName",
    "RepositoryName",
    "QueueName",
    "TopicName",
    "RoleName",
    "TableName",
    "LogGroupName",
    "AliasName",
    "Name",
)


@pytest.mark.parametrize("synth_name", ["example_synth", "long_names_synth"])
def test_every_retained_fixed_name_is_checked_before_a_redeploy(
    synth_name: str, request: pytest.FixtureRequest
) -> None:
    """A kept resource under a fixed name makes the next deploy after a destroy fail with "already exists".

    Each must be one the wave's preflight looks for (it names what is in the way), or have a generated name.
    The long-names synth has a second region, so its pipelines have artifact replication stacks.
    """
    example_synth: Synth = request.getfixturevalue(synth_name)
    template = example_synth.stack("MlopsCicd").template
    preflight = " ".join(
        json.dumps(r["Properties"]["Source"]["BuildSpec"])
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::CodeBuild::Project" and "Preflight" in k
    )
    retained = {
        f"{stack.display_name}/{logical_id}": (kind, resource["Properties"][prop])
        for stack in example_synth.stacks.values()
        for logical_id, resource in stack.template["Resources"].items()
        if resource.get("DeletionPolicy") == "Retain"
        for kind in [resource["Type"]]
        for prop in _NAME_PROPERTIES
        if prop in resource.get("Properties", {})
    }
    assert retained, "the README example's preprod group keeps named resources"
    unchecked = {
        where: found
        for where, found in retained.items()
        if not isinstance(found[1], str) or found[1] not in preflight
    }
    assert unchecked == {}
