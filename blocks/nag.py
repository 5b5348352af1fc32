"""cdk-nag acknowledgments, each on the narrowest construct, with a reason that says why it is safe."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from constructs import IConstruct


def acknowledge(construct: IConstruct, findings: Mapping[str, str]) -> None:
    """Acknowledge AwsSolutions findings (``"IAM5[Action::s3:List*]"``: reason) on one construct."""
    Validations.of(construct).acknowledge(
        *(
            Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}", reason=reason)
            for rule, reason in findings.items()
        )
    )


ARTIFACT_ACCESS_REASON = (
    "Read/write that CDK grants on this pipeline's own artifact bucket and through its own key; "
    "the wildcards are in action names and object keys, never in which bucket or key."
)
_ARTIFACT_ACTIONS = (
    "s3:GetObject*",
    "s3:GetBucket*",
    "s3:List*",
    "s3:DeleteObject*",
    "s3:Abort*",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)


def bucket_access(bucket_logical_id: str, reason: str) -> dict[str, str]:
    """The IAM5 findings a CDK ``grant_read``/``grant_read_write`` on one bucket and its key raises."""
    return {
        **{f"IAM5[Action::{action}]": reason for action in _ARTIFACT_ACTIONS},
        f"IAM5[Resource::<{bucket_logical_id}.Arn>/*]": reason,
    }


def logical_id(construct: IConstruct) -> str:
    """The CloudFormation logical id of an L2's resource, as cdk-nag prints it."""
    resource = construct.node.default_child
    assert isinstance(resource, cdk.CfnElement)
    return cdk.Stack.of(construct).get_logical_id(resource)


def acknowledge_codebuild_defaults(project: codebuild.IProject) -> None:
    """CodeBuild grants its role its own log streams and report groups, named per build."""
    stack = cdk.Stack.of(project)
    project_id = logical_id(project)
    # cdk-nag prints the partition CDK resolved for this environment-bound stack.
    prefix = "arn:aws:"
    where = f"{stack.region}:{stack.account}"
    role = project.role
    assert role is not None
    acknowledge(
        role,
        {
            f"IAM5[Resource::{prefix}logs:{where}:log-group:/aws/codebuild/<{project_id}>:*]": (
                "Log streams of this one project's own log group, created per build."
            ),
            f"IAM5[Resource::{prefix}codebuild:{where}:report-group/<{project_id}>-*]": (
                "Test report groups of this one project, created per build."
            ),
        },
    )


def roles_below(scope: IConstruct) -> list[iam.Role]:
    """Every role CDK created below ``scope`` (pipeline, action and project roles)."""
    return [child for child in scope.node.find_all() if isinstance(child, iam.Role)]
