"""Resource names within each service's limits: a readable prefix plus, when too long, a short hash.

Names are computed here, once, from settings alone, because the stacks that create a resource and the
stacks that refer to it live in different accounts and cannot share CloudFormation exports.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

HASH_LENGTH = 8

# Service limits on names.
S3_BUCKET = 63
IAM_ROLE = 64
SAGEMAKER_NAME = 63  # model package group, pipeline, model, endpoint config, endpoint
SNS_TOPIC = 256
CODEPIPELINE = 100  # pipeline, stage and action names
CODEBUILD_PROJECT = 150
SSM_PARAMETER = 1011
KMS_ALIAS = 256
LAMBDA_FUNCTION = 64
SQS_QUEUE = 80
ECR_REPOSITORY = 256
# The artifacts bucket's prefixes, part of the contract with the model-build repository.
PIPELINE_CODE_PREFIX = "pipeline-code"
"""The one prefix the build-account access role (the repository's buildspec) may write."""
MODEL_ARTIFACTS_PREFIX = "models"
"""Where training writes model artifacts; the only prefix the deploy accounts' endpoints may read."""
SAMPLE_PAYLOADS_PREFIX = "samples"
"""Where the model-build repository puts each version's sample payload (``SamplePayloadUrl``)."""

CLOUDFORMATION_STACK = 128
"""CloudFormation's limit on stack names, the one place it is stated."""
SUPPORT_STACK_ROOM = 28
"""What CDK appends to a pipeline stack for each other region it acts in ("-support-<region>", 23
characters with today's longest region names), with room to spare."""
STACK_NAME = CLOUDFORMATION_STACK - SUPPORT_STACK_ROOM
"""The stage stacks the module names (shortened to fit): theirs and their support stacks' names fit."""


# The default qualifier of ``cdk bootstrap``, the one the README's bootstrap commands use.
CDK_BOOTSTRAP_QUALIFIER = "hnb659fds"


def cdk_lookup_role_arn(partition: str, account: str, region: str) -> str:
    """The bootstrap's read-only lookup role in ``account``, which trusts the ``--trust`` accounts too.

    The preflight reads through it, and the deploy pipelines' synth looks up endpoint VPC values with it.
    """
    return f"arn:{partition}:iam::{account}:role/cdk-{CDK_BOOTSTRAP_QUALIFIER}-lookup-role-{account}-{region}"


def cross_region_support_stack(pipeline_stack_name: str, region: str) -> str:
    """The stack holding a pipeline's artifact copies in ``region``, named as CDK names its own.

    Never shortened (it carries the top stack's name whole), so settings check that it fits.
    """
    return f"{pipeline_stack_name}-support-{region}"


def short_hash(text: str, length: int = HASH_LENGTH) -> str:
    """A stable digest: the same text always gives the same suffix, on every machine."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def bounded(name: str, limit: int, *, lowercase: bool = False) -> str:
    """``name`` if it fits, else its first characters plus a hash of the whole, ``limit`` at most.

    Hyphens are the only separator any of these services accept everywhere; runs of them collapse
    and none is left at either end.
    """
    text = name.lower() if lowercase else name
    text = re.sub(r"-{2,}", "-", text).strip("-")
    if len(text) <= limit:
        return text
    head = text[: limit - HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{short_hash(text)}"


def infra_pipeline(stack_name: str) -> str:
    """The module's infra pipeline, named in the metadata other modules read."""
    return bounded(f"{stack_name}-infra", CODEPIPELINE)


@dataclass(frozen=True)
class GroupNames:
    """The physical names of one deployment group's resources, shared by every account's stacks."""

    prefix: str
    """``<project>-<deployment>-<module>-<group>``, before any shortening."""
    build_account: str
    build_region: str

    def _name(self, suffix: str, limit: int, *, lowercase: bool = False) -> str:
        # Shorten the prefix, never the suffix, so names stay recognisable by what they are.
        room = limit - len(suffix) - 1
        return f"{bounded(self.prefix, room, lowercase=lowercase)}-{suffix}"

    @property
    def artifacts_bucket(self) -> str:
        """Globally unique: carries account and region."""
        return self._name(f"{self.build_account}-{self.build_region}", S3_BUCKET, lowercase=True)

    @property
    def access_logs_bucket(self) -> str:
        """Globally unique: carries account and region."""
        return self._name(f"logs-{self.build_account}-{self.build_region}", S3_BUCKET, lowercase=True)

    @property
    def artifacts_key_alias(self) -> str:
        """Named after the bucket it protects, so the alias says what it is for."""
        return f"alias/{self.artifacts_bucket}"

    @property
    def model_package_group(self) -> str:
        # SageMaker lowercases model package ARNs; a lowercase name keeps policies and ARNs equal.
        return self._name("models", SAGEMAKER_NAME, lowercase=True)

    @property
    def sagemaker_pipeline(self) -> str:
        return self._name("training", SAGEMAKER_NAME, lowercase=True)

    @property
    def sagemaker_execution_role(self) -> str:
        return self._name("sagemaker-exec", IAM_ROLE)

    @property
    def model_build_access_role(self) -> str:
        """The build-account role the tooling account's model build project assumes."""
        return self._name("model-build-access", IAM_ROLE)

    @property
    def model_build_project_role(self) -> str:
        """Fixed, so the build account can trust it before it exists."""
        return self._name("model-build-project", IAM_ROLE)

    @property
    def model_build_pipeline(self) -> str:
        return self._name("model-build", CODEPIPELINE)

    @property
    def model_deploy_pipeline(self) -> str:
        return self._name("model-deploy", CODEPIPELINE)

    @property
    def approval_topic(self) -> str:
        return self._name("model-approved", SNS_TOPIC)

    @property
    def approved_model_parameter(self) -> str:
        return f"/{bounded(self.prefix, 200)}/approved-model"

    @property
    def approval_trigger_function(self) -> str:
        return self._name("approval-trigger", LAMBDA_FUNCTION)

    @property
    def model_image_repository(self) -> str:
        """The build account's ECR repository for custom inference images (lowercase, as ECR requires)."""
        return self._name("inference-images", ECR_REPOSITORY, lowercase=True)

    def endpoint_execution_role(self, environment_name: str) -> str:
        """Fixed, so the build account can name it in its policies before the endpoint stack exists.

        Unique per group and environment: the prefix names the group, the environment is kept whole up
        to 24 characters, as in :meth:`endpoint`.
        """
        return self._name(f"{bounded(environment_name, 24)}-endpoint", IAM_ROLE)

    def smoke_test_role(self, environment_name: str) -> str:
        """The endpoint account's role the deploy pipeline's smoke test assumes.

        Fixed, so the tooling side can name it before it exists; per group and environment, as
        :meth:`endpoint_execution_role`.
        """
        return self._name(f"{bounded(environment_name, 24)}-smoke", IAM_ROLE)

    def smoke_test_project_role(self, environment_name: str) -> str:
        """The smoke test's own role in the tooling account; fixed, so the smoke role can trust it by name."""
        return self._name(f"{bounded(environment_name, 24)}-smoke-test", IAM_ROLE)

    @property
    def undelivered_approvals_queue(self) -> str:
        """Fixed: the subscription names it from another region, where no reference reaches."""
        return self._name("approvals-undelivered", SQS_QUEUE)

    @property
    def failed_approvals_queue(self) -> str:
        return self._name("approvals-failed", SQS_QUEUE)

    def endpoint(self, environment_name: str, *, serverless: bool = False) -> str:
        """One SageMaker endpoint per group and environment, named the same for every model version.

        Callers invoke it by this name, so it never carries a model or settings hash. The environment
        name is kept whole (shortened with a hash only past 24 characters); the prefix gives way first.
        A serverless endpoint ends in ``--serverless`` (no environment name has a double hyphen): SageMaker
        cannot turn an instance endpoint into a serverless one in place, so switching creates a new one.
        """
        suffix = "--serverless" if serverless else ""
        environment = bounded(environment_name, 24, lowercase=True)
        return self._name(f"{environment}{suffix}", SAGEMAKER_NAME, lowercase=True)
