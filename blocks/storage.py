"""Buckets and keys every account's stacks make the same way: encrypted, TLS-only, private, logged."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from blocks import cdk_values
from blocks.governance import GovernedStack, account_of, stack_of

# Where CDK puts the one function per stack that empties buckets made with ``auto_delete_objects``.
AUTO_DELETE_PROVIDER = "Custom::S3AutoDeleteObjectsCustomResourceProvider"


def removal_policy(retain: bool) -> cdk.RemovalPolicy:
    """Kept with whatever it holds, or deleted with its stack."""
    return cdk.RemovalPolicy.RETAIN if retain else cdk.RemovalPolicy.DESTROY


def _govern_auto_delete(scope: Construct) -> None:
    """Tag the role of the function that empties buckets: CDK writes it as raw CloudFormation.

    Called for a bucket emptied on delete (a kept one adds no function). CDK makes one such function per
    stack, so its role is tagged once: each look for it is jsii round trips.
    """
    stack = stack_of(scope)
    if not isinstance(stack, GovernedStack) or stack.auto_delete_role_tagged:
        return
    provider = stack.node.try_find_child(AUTO_DELETE_PROVIDER)
    if provider is not None:
        role = provider.node.find_child("Role")
        assert isinstance(role, cdk.CfnResource), role
        stack.tag_raw_role(role)
        stack.auto_delete_role_tagged = True


def customer_managed_key(
    scope: Construct, construct_id: str, *, description: str, retain: bool = True
) -> kms.Key:
    """A rotated key; retained unless told otherwise, since whatever it encrypted is unreadable without it."""
    return kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        removal_policy=removal_policy(retain),
        pending_window=None if retain else cdk_values.days(7),
    )


def _private_bucket(
    scope: Construct, construct_id: str, *, bucket_name: str | None, retain: bool, **encryption_and_logs: Any
) -> s3.Bucket:
    """What every bucket of the module is: TLS-only, private, owner-enforced, versioned; kept or emptied."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        bucket_name=bucket_name,
        enforce_ssl=True,
        block_public_access=cdk_values.block_all(),
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=True,
        removal_policy=removal_policy(retain),
        auto_delete_objects=not retain,
        **encryption_and_logs,
    )
    if not retain:
        _govern_auto_delete(scope)
    return bucket


def access_logs_bucket(
    scope: Construct, construct_id: str, *, bucket_name: str | None = None, retain: bool = True
) -> s3.Bucket:
    """Where S3 delivers server access logs: SSE-S3, since the log delivery service cannot use a CMK.

    Any bucket of this account may deliver here: stacks of other stages cannot be named in advance.
    Not retained, it is emptied and deleted with its stack.
    """
    bucket = _private_bucket(
        scope, construct_id, bucket_name=bucket_name, retain=retain, encryption=s3.BucketEncryption.S3_MANAGED
    )
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="ThisAccountsBucketsDeliverLogs",
            principals=[cdk_values.service_principal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"],
            resources=[bucket.arn_for_objects("*")],
            conditions={"StringEquals": {"aws:SourceAccount": account_of(stack_of(scope))}},
        )
    )
    Validations.of(bucket).acknowledge(
        Acknowledgment(
            id="AwsSolutions::AwsSolutions-S1",
            reason="This bucket receives server access logs; logging it would log its own log deliveries.",
        )
    )
    return bucket


def encrypted_bucket(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    access_logs: s3.IBucket,
    bucket_name: str | None = None,
    logs_prefix: str,
    retain: bool = True,
) -> s3.Bucket:
    """A versioned, KMS-encrypted, TLS-only private bucket that logs its access.

    Not retained, it is emptied and deleted with its stack.
    """
    return _private_bucket(
        scope,
        construct_id,
        bucket_name=bucket_name,
        retain=retain,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=logs_prefix,
    )
