"""cdk-nag acknowledgments, each on the narrowest construct, with a reason that says why it is safe."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


def logical_ids_in_arns(stack: cdk.Stack, arns: Sequence[str]) -> list[str]:
    """The logical ids in L2s' ARN attributes (``Fn::GetAtt`` once resolved), as cdk-nag prints them.

    One jsii round trip for all the ARNs the caller holds, where :func:`logical_id` takes three each.
    """
    ids = []
    for resolved in stack.resolve(list(arns)):
        match resolved:
            case {"Fn::GetAtt": [str() as resource, "Arn"]}:
                ids.append(resource)
            case _:
                raise ValueError(f"not the ARN attribute of a resource in {stack.node.path}: {resolved!r}")
    return ids


def logical_id_in_arn(stack: cdk.Stack, arn: str) -> str:
    """:func:`logical_ids_in_arns` of one ARN."""
    (resource,) = logical_ids_in_arns(stack, [arn])
    return resource


def codebuild_default_findings(stack: cdk.Stack, project_id: str) -> dict[str, str]:
    """The findings on what CodeBuild grants a project's role: its own log streams and report groups.

    ``project_id``: the project's logical id in ``stack``. Returned rather than acknowledged, so that a
    caller acknowledging more on the same role does it in one call.
    """
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
    stack: cdk.Stack, projects: Sequence[tuple[codebuild.IProject, iam.IRole | None]]
) -> None:
    """CodeBuild grants each project's role its own log streams and report groups, named per build.

    The projects are ``stack``'s, each with its role when the caller holds it; their logical ids are
    resolved in one jsii round trip.
    """
    ids = logical_ids_in_arns(stack, [project.project_arn for project, _ in projects])
    for (project, known_role), project_id in zip(projects, ids, strict=True):
        role = project.role if known_role is None else known_role
        assert role is not None
        acknowledge(role, codebuild_default_findings(stack, project_id))


def roles_below(scope: IConstruct) -> list[iam.Role]:
    """Every role CDK created below ``scope`` (pipeline, action and project roles)."""
    return [child for child in scope.node.find_all() if isinstance(child, iam.Role)]
