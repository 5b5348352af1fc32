"""Build account: the group's model registry, shared with its deploy accounts, emptied with a dev stack."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker

from blocks import cdk_values
from blocks.lambda_functions import module_function
from blocks.nag import acknowledge
from names import GroupNames

if TYPE_CHECKING:
    from stages.build_support import BuildSupportStack


def sagemaker_arn(names: GroupNames) -> str:
    """The ARN prefix of the build account's SageMaker resources, as cdk-nag prints it."""
    return f"arn:aws:sagemaker:{names.build_region}:{names.build_account}"


def registry_versions(names: GroupNames) -> dict[str, str]:
    """The cdk-nag finding every grant on the group's model versions shares, with its reason."""
    return {
        f"IAM5[Resource::{sagemaker_arn(names)}:model-package/{names.model_package_group}/*]": (
            "Versions of this group's one model package group, numbered as they are registered."
        )
    }


def model_registry(
    stack: BuildSupportStack, names: GroupNames, readers: list[str]
) -> sagemaker.CfnModelPackageGroup:
    """The group's registry; the deploy accounts may read it and build models from it."""
    group_arn = stack.format_arn(
        service="sagemaker", resource="model-package-group", resource_name=names.model_package_group
    )
    packages_arn = stack.format_arn(
        service="sagemaker", resource="model-package", resource_name=f"{names.model_package_group}/*"
    )
    policy = None
    if readers:
        principals = {"AWS": [f"arn:{cdk_values.partition()}:iam::{a}:root" for a in readers]}
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OtherAccountsReadGroup",
                    "Effect": "Allow",
                    "Principal": principals,
                    "Action": ["sagemaker:DescribeModelPackageGroup"],
                    "Resource": group_arn,
                },
                {
                    "Sid": "OtherAccountsUseVersions",
                    "Effect": "Allow",
                    "Principal": principals,
                    "Action": [
                        "sagemaker:DescribeModelPackage",
                        "sagemaker:ListModelPackages",
                        "sagemaker:CreateModel",
                    ],
                    "Resource": packages_arn,
                },
            ],
        }
    group = sagemaker.CfnModelPackageGroup(
        stack,
        "ModelPackageGroup",
        model_package_group_name=names.model_package_group,
        model_package_group_description=f"Models trained by {names.prefix}",
        model_package_group_policy=policy,
    )
    if stack.retain:
        group.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
    # In every environment type, so that turning dev into preprod updates it instead of deleting it.
    _empty_registry_on_delete(stack, group, names)
    return group


def _empty_registry_on_delete(
    stack: BuildSupportStack, group: sagemaker.CfnModelPackageGroup, names: GroupNames
) -> None:
    """SageMaker refuses to delete a group holding versions: a dev stack's deletion removes them first.

    The handler acts only when its ``DeleteVersionsWithStack`` property says so (dev) and the stack
    itself is being deleted; a preprod or prod group is retained and this resource never deletes.
    """
    function, role = module_function(
        stack,
        "RegistryCleanup",
        folder="registry_cleanup",
        description=f"Empties {names.model_package_group} before CloudFormation deletes it",
        timeout=cdk_values.minutes(15),
    )
    versions = stack.format_arn(
        service="sagemaker", resource="model-package", resource_name=f"{names.model_package_group}/*"
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="DeleteVersions", actions=["sagemaker:DeleteModelPackage"], resources=[versions]
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(sid="ListVersions", actions=["sagemaker:ListModelPackages"], resources=["*"])
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="ReadOwnStackStatus", actions=["cloudformation:DescribeStacks"], resources=[stack.stack_id]
        )
    )
    cleanup = cdk.CustomResource(
        stack,
        "RegistryCleanupOnDelete",
        service_token=function.function_arn,
        resource_type="Custom::ModelRegistryCleanup",
        properties={
            "ModelPackageGroupName": names.model_package_group,
            "DeleteVersionsWithStack": "false" if stack.retain else "true",
        },
    )
    # Deleted before the group it empties.
    cleanup.node.add_dependency(group)
    acknowledge(
        role,
        {
            **registry_versions(names),
            "IAM5[Resource::*]": "sagemaker:ListModelPackages has no resource-level permission.",
        },
    )
