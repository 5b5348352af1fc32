"""Build account: what a group's training needs and what its approval announces.

Artifacts bucket and key, the model registry shared with the deploy accounts, SageMaker's execution
role, the role the tooling account's model build project assumes, and the approval topic that
EventBridge feeds when someone approves a model version.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from blocks import cdk_values
from blocks.governance import Governance, GovernedStack
from blocks.nag import logical_id_in_arn
from blocks.storage import access_logs_bucket, customer_managed_key, encrypted_bucket, removal_policy
from names import MODEL_ARTIFACTS_PREFIX, SAMPLE_PAYLOADS_PREFIX, GroupNames
from stages.approval_events import approval_topic
from stages.build_support_roles import model_build_access_role, sagemaker_execution_role
from stages.model_registry import model_registry

# SageMaker Studio reads pipeline metrics and reports straight from the bucket.
_STUDIO_CORS = s3.CorsRule(
    allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD],
    allowed_origins=["https://*.sagemaker.aws"],
    allowed_headers=["*"],
    exposed_headers=[
        "ETag",
        "x-amz-delete-marker",
        "x-amz-id-2",
        "x-amz-request-id",
        "x-amz-server-side-encryption",
        "x-amz-version-id",
    ],
)


@dataclass(frozen=True)
class EndpointReader:
    """A fixed-name role of one of the group's environments (endpoint or smoke test) that reads from here."""

    account: str
    role_name: str


class BuildSupportStack(GovernedStack):
    """Everything a group's build account must hold before its model build pipeline can run."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: cdk.Environment,
        governance: Governance,
        names: GroupNames,
        tooling_region: str,
        endpoint_readers: Sequence[EndpointReader],
        sample_readers: Sequence[EndpointReader] = (),
        retain: bool,
        stack_name: str,
    ) -> None:
        """``retain``: a preprod or prod build account, whose trained models outlive the stack.

        ``endpoint_readers``: the endpoint execution roles of the group's environments, by fixed name; those
        in other accounts are granted read of model artifacts and images here (same-account ones need only
        their own identity policy). ``sample_readers``: the smoke-test roles of the same environments, which
        read sample payloads only.
        """
        super().__init__(
            scope,
            construct_id,
            env=env,
            governance=governance,
            stack_name=stack_name,
            description="SageMaker model CICD: build-account support (artifacts, registry, roles, approvals)",
        )
        tooling = governance.tooling_account
        others = sorted(
            {(r.account, r.role_name) for r in endpoint_readers if r.account != names.build_account}
        )
        readers = sorted({account for account, _ in others})
        reader_role_arns = [f"arn:{cdk_values.partition()}:iam::{a}:role/{role}" for a, role in others]

        self.retain = retain
        self.names = names
        self.artifacts_key = customer_managed_key(
            self, "ArtifactsKey", description=f"Encrypts {names.artifacts_bucket}", retain=retain
        )
        self.artifacts_key.add_alias(names.artifacts_key_alias)
        logs = access_logs_bucket(
            self, "AccessLogsBucket", bucket_name=names.access_logs_bucket, retain=retain
        )
        self.artifacts_bucket = encrypted_bucket(
            self,
            "ArtifactsBucket",
            key=self.artifacts_key,
            access_logs=logs,
            bucket_name=names.artifacts_bucket,
            logs_prefix="artifacts/",
            retain=retain,
        )
        self.artifacts_bucket.add_cors_rule(
            allowed_methods=_STUDIO_CORS.allowed_methods,
            allowed_origins=_STUDIO_CORS.allowed_origins,
            allowed_headers=_STUDIO_CORS.allowed_headers,
            exposed_headers=_STUDIO_CORS.exposed_headers,
        )
        self._share_model_artifacts(readers, reader_role_arns, names)
        self._share_sample_payloads(sample_readers, names)
        self.image_repository = self._image_repository(names, readers, reader_role_arns)

        self.model_package_group = model_registry(self, names, readers)
        self.sagemaker_role = sagemaker_execution_role(self, names)
        self.model_build_access_role = model_build_access_role(self, names, tooling)
        self.approval_topic = approval_topic(self, names, tooling, tooling_region)

    @functools.cached_property
    def artifacts_bucket_id(self) -> str:
        """The artifacts bucket's logical id, which the roles' findings name; resolved once (a round trip)."""
        return logical_id_in_arn(self, self.artifacts_bucket.bucket_arn)

    @functools.cached_property
    def artifacts_key_arn(self) -> str:
        """The artifacts key's ARN, read once (a jsii round trip) for the roles that use the key."""
        return self.artifacts_key.key_arn

    def _share_model_artifacts(self, readers: list[str], role_arns: list[str], names: GroupNames) -> None:
        """Other accounts' endpoint roles read model artifacts, nothing else: not training data, not code.

        The tooling account gets nothing: no pipeline of it reads or writes this bucket.
        """
        self._share_prefix(
            MODEL_ARTIFACTS_PREFIX, readers, role_arns, names, sids=("EndpointRoles", "ModelArtifacts")
        )

    def _share_sample_payloads(self, smoke_roles: Sequence[EndpointReader], names: GroupNames) -> None:
        """Other accounts' smoke-test roles read sample payloads (``samples/``), nothing else."""
        others = sorted({(r.account, r.role_name) for r in smoke_roles if r.account != names.build_account})
        accounts = sorted({account for account, _ in others})
        role_arns = [f"arn:{cdk_values.partition()}:iam::{a}:role/{n}" for a, n in others]
        self._share_prefix(
            SAMPLE_PAYLOADS_PREFIX, accounts, role_arns, names, sids=("SmokeTestRoles", "SamplePayloads")
        )

    def _share_prefix(
        self,
        prefix: str,
        accounts: list[str],
        role_arns: list[str],
        names: GroupNames,
        *,
        sids: tuple[str, str],
    ) -> None:
        """Roles of other ``accounts`` read the artifacts bucket's objects under ``prefix``, decrypted by S3.

        Statements ``<who>Read<what>`` and ``<who>Decrypt<what>ThroughS3``, ``sids`` being who and what.
        The roles do not exist yet when this stack deploys, and S3 and KMS refuse a policy naming a role
        that does not exist, so the grant is to their accounts, conditioned on the roles' fixed ARNs.
        """
        who, what = sids
        if not accounts:
            return
        only_those_roles = {"ArnEquals": {"aws:PrincipalArn": role_arns}}
        self.artifacts_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"{who}Read{what}",
                principals=[cdk_values.account_principal(a) for a in accounts],
                actions=["s3:GetObject"],
                resources=[self.artifacts_bucket.arn_for_objects(f"{prefix}/*")],
                conditions=only_those_roles,
            )
        )
        self.artifacts_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"{who}Decrypt{what}ThroughS3",
                principals=[cdk_values.account_principal(a) for a in accounts],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={
                    **only_those_roles,
                    # S3 decrypts for the caller through KMS (KMS Developer Guide, "kms:ViaService").
                    "StringEquals": {"kms:ViaService": f"s3.{names.build_region}.amazonaws.com"},
                },
            )
        )

    def _image_repository(
        self, names: GroupNames, readers: list[str], role_arns: list[str]
    ) -> ecr.Repository:
        """Custom inference images, pulled by the group's endpoint roles in other accounts (same region)."""
        repository = ecr.Repository(
            self,
            "InferenceImages",
            repository_name=names.model_image_repository,
            encryption=ecr.RepositoryEncryption.KMS,
            encryption_key=self.artifacts_key,
            image_scan_on_push=True,
            # A tag once served always means the same image: a prod endpoint can be rebuilt from it.
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            # Untagged layers are no image anyone deploys; tagged images are kept, as models are.
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description="Untagged images are leftovers of pushes",
                    tag_status=ecr.TagStatus.UNTAGGED,
                    max_image_age=cdk_values.days(14),
                )
            ],
            removal_policy=removal_policy(self.retain),
            empty_on_delete=not self.retain,
        )
        if readers:
            repository.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="EndpointRolesPullImages",
                    principals=[cdk_values.account_principal(a) for a in readers],
                    actions=[
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchCheckLayerAvailability",
                    ],
                    conditions={"ArnEquals": {"aws:PrincipalArn": role_arns}},
                )
            )
        return repository
