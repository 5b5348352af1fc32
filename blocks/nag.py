"""cdk-nag acknowledgments, each on the narrowest construct, with a reason that says why it is safe."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from blocks.governance import account_of, region_of


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


def logical_id(construct: IConstruct, stack: cdk.Stack | None = None) -> str:
    """The CloudFormation logical id of an L2's resource, as cdk-nag prints it.

    ``stack``: the construct's, when the caller holds it; ``Stack.of`` is one more jsii round trip, and
    those are most of a synth's time.
    """
    resource = construct.node.default_child
    assert isinstance(resource, cdk.CfnElement)
    return (cdk.Stack.of(construct) if stack is None else stack).get_logical_id(resource)


def logical_id_in_arn(stack: cdk.Stack, arn: str) -> str:
    """The logical id in an L2's ARN attribute as ``stack`` resolves it (``Fn::GetAtt``); cdk-nag prints it.

    One jsii round trip for an ARN the caller holds, where :func:`logical_id` takes three.
    """
    match stack.resolve(arn):
        case {"Fn::GetAtt": [str() as resource, "Arn"]}:
            return resource
        case resolved:
            raise ValueError(f"not the ARN attribute of a resource in {stack.node.path}: {resolved!r}")


def codebuild_default_findings(project: codebuild.IProject, stack: cdk.Stack | None = None) -> dict[str, str]:
    """The findings on what CodeBuild grants a project's role: its own log streams and report groups.

    Returned rather than acknowledged, so that a caller acknowledging more on the same role does it in
    one call. ``stack``: the project's, when the caller holds it.
    """
    stack = cdk.Stack.of(project) if stack is None else stack
    project_id = logical_id_in_arn(stack, project.project_arn)
    # cdk-nag prints the partition CDK resolved for this environment-bound stack.
    prefix = "arn:aws:"
    where = f"{region_of(stack)}:{account_of(stack)}"
    return {
        f"IAM5[Resource::{prefix}logs:{where}:log-group:/aws/codebuild/<{project_id}>:*]": (
            "Log streams of this one project's own log group, created per build."
        ),
        f"IAM5[Resource::{prefix}codebuild:{where}:report-group/<{project_id}>-*]": (
            "Test report groups of this one project, created per build."
        ),
    }


def acknowledge_codebuild_defaults(
    project: codebuild.IProject, stack: cdk.Stack | None = None, role: iam.IRole | None = None
) -> None:
    """CodeBuild grants its role its own log streams and report groups, named per build.

    ``stack`` and ``role``: the project's, when the caller holds them (each saves a jsii round trip).
    """
    findings = codebuild_default_findings(project, stack)
    role = project.role if role is None else role
    assert role is not None
    acknowledge(role, findings)


def roles_below(scope: IConstruct) -> list[iam.Role]:
    """Every role CDK created below ``scope`` (pipeline, action and project roles)."""
    return [child for child in scope.node.find_all() if isinstance(child, iam.Role)]
