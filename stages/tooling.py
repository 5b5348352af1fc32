"""Tooling account: the artifact store every pipeline of the module keeps its stage outputs in."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from stages.nag import ARTIFACT_ACCESS_REASON, acknowledge, bucket_access, logical_id, roles_below
from stages.storage import customer_managed_key, encrypted_bucket


class PipelineArtifactStore(Construct):
    """A pipeline's own artifact bucket, under a rotated customer-managed key, logging its access."""

    def __init__(self, scope: Construct, construct_id: str, *, access_logs_bucket_name: str) -> None:
        super().__init__(scope, construct_id)
        self.key = customer_managed_key(self, "Key", description="Encrypts pipeline artifacts")
        access_logs = s3.Bucket.from_bucket_name(self, "AccessLogs", access_logs_bucket_name)
        self.bucket = encrypted_bucket(
            self, "Bucket", key=self.key, access_logs=access_logs, logs_prefix="pipeline-artifacts/"
        )
        # The log bucket is the tooling stack's, whose policy admits every bucket of this account, or
        # the user's own (s3-access-logs-bucket-arn), whose policy the README asks them to set.
        Validations.of(self.bucket).acknowledge(
            Acknowledgment(
                id="Annotation::@aws-cdk/aws-s3:accessLogsPolicyNotAdded",
                reason="The access-log bucket's policy already admits this account's buckets.",
            )
        )

    def acknowledge_artifact_access(self, *scopes: IConstruct) -> None:
        """Every role below ``scopes`` that CDK granted artifact access: wildcards stay in this store."""
        findings = bucket_access(logical_id(self.bucket), ARTIFACT_ACCESS_REASON)
        for scope in scopes:
            for role in roles_below(scope):
                acknowledge(role, findings)
