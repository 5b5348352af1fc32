"""What the tests reading the shared synths' templates share: finding a stack's resources, statements and
the README example's names (a helper module, not a test module)."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from names import GroupNames
from tests.conftest import EXAMPLE_STACK_NAME, StackArtifact, Synth

PROD = "prod-deployment-group"
EXPERIMENT = "experimenation-deployment-group"
PROD_NAMES = GroupNames(f"{EXAMPLE_STACK_NAME}-{PROD}", "123456789015", "us-east-1")
"""The README example's preprod-trained group: build account ...15, deploy accounts ...16 and ...17."""


def template(synth: Synth, suffix: str) -> Template:
    return Template.from_json(synth.stack(suffix).template)


def resources(synth: Synth, suffix: str, kind: str) -> dict[str, dict[str, Any]]:
    """The properties of each resource of ``kind`` in the stack ending with ``suffix``, by logical id."""
    return {
        logical_id: r.get("Properties", {})
        for logical_id, r in synth.stack(suffix).template["Resources"].items()
        if r["Type"] == kind
    }


def statements_by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s.get("Sid", f"#{i}"): s for i, s in enumerate(document["Statement"])}


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def account_root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def logical_id_of(template: Template, kind: str, prefix: str) -> str:
    (found,) = [logical_id for logical_id in template.find_resources(kind) if logical_id.startswith(prefix)]
    return found


def endpoint_stacks(synth: Synth, group: str) -> dict[str, StackArtifact]:
    """A group's endpoint stacks, by environment name."""
    return {
        name.rsplit("/", 2)[-2]: stack
        for name, stack in synth.stacks.items()
        if name.startswith(f"MlopsCicd/{group}/ModelDeploy/") and name.endswith("/Endpoint")
    }


def source_stage(configuration: dict[str, Any], **action: Any) -> Any:
    """A pipeline's ``Source`` stage: one action like ``action``, its configuration like ``configuration``."""
    return Match.object_like(
        {
            "Name": "Source",
            "Actions": [Match.object_like({**action, "Configuration": Match.object_like(configuration)})],
        }
    )
