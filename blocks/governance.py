"""Tags and permissions boundaries that every stack of the module carries, stage stacks included.

Aspects, which ``Tags`` and ``PermissionsBoundary`` are, stop at Stage boundaries, so every stack applies
them to itself through :class:`GovernedStack` rather than relying on the app to reach it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct


@dataclass(frozen=True)
class Governance:
    """What every stack and role of the module carries, whichever account it lands in."""

    tags: Mapping[str, str]
    tooling_account: str
    boundary_name: str | None = None
    """A boundary policy the user keeps, under this name, in every account."""
    tooling_boundary_arn: str | None = None
    """Seedfarmer's boundary: it exists in the tooling account only."""

    def boundary_arn(self, account: str, partition: str = "aws") -> str | None:
        """The boundary for roles created in ``account``."""
        if account == self.tooling_account and self.tooling_boundary_arn:
            return self.tooling_boundary_arn
        if self.boundary_name:
            return f"arn:{partition}:iam::{account}:policy/{self.boundary_name}"
        return None


class GovernedStack(cdk.Stack):
    """A stack in a fixed account and region whose resources carry the module's tags and boundary."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: cdk.Environment,
        governance: Governance,
        stack_name: str | None = None,
        description: str | None = None,
    ) -> None:
        # Stack tags go to CloudFormation (and on to every resource it tags); the aspect tags the template.
        super().__init__(
            scope,
            construct_id,
            env=env,
            stack_name=stack_name,
            description=description,
            tags=dict(sorted(governance.tags.items())),
        )
        self.governance = governance
        # What Python already knows is not read back from the stack: every jsii round trip costs ~1.4 ms,
        # and they are most of a synth's time.
        self.account_id: str = env.account or self.account
        self.region_name: str = env.region or self.region
        self.auto_delete_role_tagged = False
        """Whether the role of CDK's one function per stack that empties buckets carries the tags yet."""
        tags = cdk.Tags.of(self)
        for key, value in sorted(governance.tags.items()):
            tags.add(key, value)
        boundary = governance.boundary_arn(self.account_id)
        if boundary:
            iam.PermissionsBoundary.of(self).apply(
                iam.ManagedPolicy.from_managed_policy_arn(self, "PermissionsBoundary", boundary)
            )

    def tag_raw_role(self, role: cdk.CfnResource) -> None:
        """Tag a role CDK writes as raw CloudFormation (a custom resource provider's), which ``Tags`` skips.

        Called where such a role appears, not by an aspect: an aspect written in Python is a call from
        Node.js into Python for every construct of the stack, a third of a large synth's time.
        """
        role.add_property_override(
            "Tags", [{"Key": key, "Value": value} for key, value in sorted(self.governance.tags.items())]
        )


def stack_of(scope: IConstruct) -> cdk.Stack:
    """``cdk.Stack.of(scope)``, without its jsii round trip when ``scope`` is a stack itself."""
    return scope if isinstance(scope, cdk.Stack) else cdk.Stack.of(scope)


def account_of(stack: cdk.Stack) -> str:
    """``stack.account``; a :class:`GovernedStack` knows it without a jsii round trip."""
    return stack.account_id if isinstance(stack, GovernedStack) else stack.account


def region_of(stack: cdk.Stack) -> str:
    """``stack.region``; a :class:`GovernedStack` knows it without a jsii round trip."""
    return stack.region_name if isinstance(stack, GovernedStack) else stack.region
