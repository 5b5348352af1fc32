"""The offline access proof: each cross-account and cross-service access allowed, its near misses denied.

Each request is decided (``access_proof``) against the synthesized templates of the README example after
its prod group approved a version, the CDK bootstrap template of the pinned CLI (as the README's bootstrap
commands deploy it) and modulestack.yaml. The request context is what the calling service sends, each key
with the AWS page that says so: the approval path broke once on a wrong belief about exactly that.

Written for the design of issue 10 (items 1-6); docs/design.md has the table of where each is granted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from cfn_tools import load_yaml  # type: ignore[import-untyped]

from access_proof.policy import ContextValue, Request
from access_proof.render import Placement, render
from access_proof.world import ADMINISTRATOR_ACCESS, Resource, World
from names import GroupNames
from tests.access_harness import allowed, denied, stack_name
from tests.conftest import (
    CDK_CLI,
    EXAMPLE_STACK_NAME,
    ROOT,
    TOOLING_ACCOUNT,
    TOOLING_REGION,
    StackArtifact,
    Synth,
    approved_model_environment,
)

REGION = TOOLING_REGION
TOOLING = TOOLING_ACCOUNT
PROD_GROUP = "prod-deployment-group"
BUILD = "123456789015"
TARGETS = {"prod-train-env": BUILD, "prod-approval-env": "123456789016", "prod-env": "123456789017"}
DEPLOY = ("123456789016", "123456789017")
EXPERIMENT_GROUP = "experimenation-deployment-group"
EXPERIMENT_BUILD, EXPERIMENT_DEPLOY = "123456789012", "123456789013"
OUTSIDER = "999999999999"
NAMES = GroupNames(f"{EXAMPLE_STACK_NAME}-{PROD_GROUP}", BUILD, REGION)
OTHER = GroupNames(f"{EXAMPLE_STACK_NAME}-{EXPERIMENT_GROUP}", EXPERIMENT_BUILD, REGION)
# The model-build contract's prefixes (issue 10 items 2 and 3): job code, and the models deploy accounts read.
PIPELINE_CODE_PREFIX = "pipeline-code"
MODEL_PREFIX = "models"
# What seedfarmer fills into modulestack.yaml for the README example (its module role name is seedfarmer's,
# hashed from the session; any name will do, the policy is attached to it by name).
MODULESTACK_PARAMETERS = {
    "ProjectName": "mlops",
    "DeploymentName": "demo",
    "ModuleName": "models-sagemaker-model-cicd",
    "RoleName": "mlops-demo-models-sagemaker-model-cicd-a1b2-c3d4e5f6",
}
MODULE_ROLE = f"arn:aws:iam::{TOOLING}:role/{MODULESTACK_PARAMETERS['RoleName']}"

# Every call AWS services make to each other, and the SDK's, go over TLS: the buckets' and topics'
# aws:SecureTransport deny must not apply (IAM User Guide, "AWS global condition context keys").
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport
TLS = {"aws:SecureTransport": "true"}
S3_VIA = f"s3.{REGION}.amazonaws.com"

TOPIC_ARN = f"arn:aws:sns:{REGION}:{BUILD}:{NAMES.approval_topic}"
OTHER_TOPIC_ARN = f"arn:aws:sns:{REGION}:{EXPERIMENT_BUILD}:{OTHER.approval_topic}"
TRIGGER_ARN = f"arn:aws:lambda:{REGION}:{TOOLING}:function:{NAMES.approval_trigger_function}"
OTHER_TRIGGER_ARN = f"arn:aws:lambda:{REGION}:{TOOLING}:function:{OTHER.approval_trigger_function}"
PROJECT_ROLE = f"arn:aws:iam::{TOOLING}:role/{NAMES.model_build_project_role}"
ACCESS_ROLE = f"arn:aws:iam::{BUILD}:role/{NAMES.model_build_access_role}"
EXECUTION_ROLE = f"arn:aws:iam::{BUILD}:role/service-role/{NAMES.sagemaker_execution_role}"
PIPELINE_ARN = f"arn:aws:sagemaker:{REGION}:{BUILD}:pipeline/{NAMES.sagemaker_pipeline}"
BUCKET_ARN = f"arn:aws:s3:::{NAMES.artifacts_bucket}"
PACKAGE_ARN = f"arn:aws:sagemaker:{REGION}:{BUILD}:model-package/{NAMES.model_package_group}/3"
NEW_PACKAGE_ARN = f"arn:aws:sagemaker:{REGION}:{BUILD}:model-package/{NAMES.model_package_group}/4"
APPROVED_MODEL = json.loads(approved_model_environment(PROD_GROUP)["APPROVED_MODEL_INFO"])
# Not in any template: AWS's own SageMaker image registry, whose repositories every account may pull
# from ("Docker Registry Paths and Example Code", SageMaker Developer Guide).
# https://docs.aws.amazon.com/sagemaker/latest/dg-ecr-paths/sagemaker-algo-docker-registry-paths.html
AWS_IMAGE_ACCOUNT = APPROVED_MODEL["imageUri"].split(".", 1)[0]


def cdk_role(kind: str, account: str) -> str:
    """A CDK bootstrap role (``deploy``, ``cfn-exec``, ...) of the default qualifier in ``account``."""
    return f"arn:aws:iam::{account}:role/cdk-hnb659fds-{kind}-role-{account}-{REGION}"


def image_repository_arn(image_uri: str) -> str:
    registry, _, path = image_uri.partition("/")
    account, region = registry.split(".")[0], registry.split(".")[3]
    return f"arn:aws:ecr:{region}:{account}:repository/{path.split(':')[0].split('@')[0]}"


def endpoint_role_name(names: GroupNames, environment: str) -> str:
    """``GroupNames.endpoint_execution_role`` (issue 10 item 3), which the lead's change adds."""
    method = getattr(names, "endpoint_execution_role", None)
    if method is None:
        pytest.fail("names.GroupNames.endpoint_execution_role is missing (issue 10 item 3)")
    name = str(method(environment))
    assert len(name) <= 64
    return name


# --- the world: templates as deployed ---------------------------------------------------------------


@pytest.fixture(scope="module")
def bootstrap_template() -> dict[str, Any]:
    """The pinned CLI's own bootstrap template: the file its ``cdk bootstrap --show-template`` prints
    (reformatted), read without starting Node."""
    shown = (
        CDK_CLI.resolve().parent.parent / "lib" / "api" / "bootstrap" / "bootstrap-template.yaml"
    ).read_text()
    template: dict[str, Any] = load_yaml(shown)
    return template


def add_stack(world: World, stack: StackArtifact) -> None:
    where = Placement(stack.stack_name, stack.account, stack.region)
    world.add_template(render(stack.template, where), where)


# The bootstrap's roles are all the proof needs of it: its bucket and repository serve CDK's assets.
IAM_TYPES = frozenset({"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"})


def add_bootstrap(world: World, template: Mapping[str, Any], account: str) -> None:
    """As the README bootstraps: the tooling account plainly, the others trusting it, administrator
    access for CloudFormation (its execution role gets AdministratorAccess either way)."""
    parameters = (
        {}
        if account == TOOLING
        else {"TrustedAccounts": TOOLING, "CloudFormationExecutionPolicies": ADMINISTRATOR_ACCESS}
    )
    where = Placement("CDKToolkit", account, REGION)
    world.add_template(render(template, where, parameters, types=IAM_TYPES), where)


# AWSCloudFormationReadOnlyAccess, which the bootstrap's deploy role carries, grants CloudFormation reads
# only ("AWS managed policies for AWS CloudFormation"): nothing any access here turns on.
CLOUDFORMATION_READ_ONLY = {
    "arn:aws:iam::aws:policy/AWSCloudFormationReadOnlyAccess": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["cloudformation:Describe*", "cloudformation:Get*", "cloudformation:List*"],
                "Resource": "*",
            }
        ]
    }
}


# The part of ReadOnlyAccess, which the bootstrap's lookup role carries, that the VPC lookups rely on
# ("ReadOnlyAccess", AWS Managed Policy Reference Guide); the role itself denies kms:Decrypt.
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/ReadOnlyAccess.html
READ_ONLY_SSM = {
    "arn:aws:iam::aws:policy/ReadOnlyAccess": {
        "Statement": [
            {"Effect": "Allow", "Action": ["ssm:Describe*", "ssm:Get*", "ssm:List*"], "Resource": "*"}
        ]
    }
}


@pytest.fixture(scope="module")
def world(approved_synth: Synth, bootstrap_template: dict[str, Any]) -> World:
    world = World({**CLOUDFORMATION_READ_ONLY, **READ_ONLY_SSM})
    for name, stack in approved_synth.stacks.items():
        if f"/{PROD_GROUP}/" in name or name == "MlopsCicd":
            add_stack(world, stack)
    for account in (TOOLING, *TARGETS.values(), EXPERIMENT_DEPLOY):
        add_bootstrap(world, bootstrap_template, account)
    where = Placement(f"{EXAMPLE_STACK_NAME}-iam-policy", TOOLING, REGION)
    modulestack = load_yaml((ROOT / "modulestack.yaml").read_text())
    world.add_template(render(modulestack, where, MODULESTACK_PARAMETERS), where)
    # AWS's image registry: every account may pull (see AWS_IMAGE_ACCOUNT).
    for repository in ("sagemaker-xgboost", "sagemaker-scikit-learn"):
        arn = f"arn:aws:ecr:{REGION}:{AWS_IMAGE_ACCOUNT}:repository/{repository}"
        pull = {
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        }
        world.resources[arn] = Resource(arn, AWS_IMAGE_ACCOUNT, "ecr", [{"Statement": [pull]}])
    return world


@pytest.fixture(scope="module")
def build_support(approved_synth: Synth) -> str:
    return stack_name(approved_synth, f"{PROD_GROUP}/BuildSupport")


@pytest.fixture(scope="module")
def model_deploy(approved_synth: Synth) -> str:
    return stack_name(approved_synth, f"{PROD_GROUP}/ModelDeploy")


@pytest.fixture(scope="module")
def artifacts_key(world: World, build_support: str) -> str:
    return world.attribute(build_support, "AWS::KMS::Key", "ArtifactsKey")


@pytest.fixture(scope="module")
def rule_arn(world: World, build_support: str) -> str:
    return world.attribute(build_support, "AWS::Events::Rule", "ModelApproved")


def s3_kms_context(bucket_arn: str, account: str) -> dict[str, ContextValue]:
    """What KMS sees when S3 encrypts or decrypts an object for a caller (SSE-KMS with an S3 Bucket Key).

    kms:ViaService is the S3 endpoint (KMS Developer Guide, "kms:ViaService"); the encryption context is
    the bucket's ARN with a Bucket Key (S3 User Guide, "Using SSE-KMS": "Encryption context");
    kms:CallerAccount is the caller's account (KMS Developer Guide, "kms:CallerAccount").
    https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#encryption-context
    """
    return {
        "kms:ViaService": S3_VIA,
        "kms:EncryptionContext:aws:s3:arn": bucket_arn,
        "kms:CallerAccount": account,
    }


# --- approval delivery ----------------------------------------------------------------------------------


def test_eventbridge_publishes_approvals_to_the_topic(world: World, rule_arn: str) -> None:
    # EventBridge publishes to SNS as events.amazonaws.com with aws:SourceArn (the rule) and
    # aws:SourceAccount (EventBridge User Guide, "Using resource-based policies": "Amazon SNS permissions").
    # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions
    context = {"aws:SourceArn": rule_arn, "aws:SourceAccount": BUILD, **TLS}
    allowed(world, Request("events.amazonaws.com", "sns:Publish", TOPIC_ARN, context))
    other_rule = f"arn:aws:events:{REGION}:{BUILD}:rule/another-rule"
    denied(
        world,
        Request("events.amazonaws.com", "sns:Publish", TOPIC_ARN, {**context, "aws:SourceArn": other_rule}),
    )
    foreign_rule = rule_arn.replace(BUILD, OUTSIDER)
    denied(
        world,
        Request(
            "events.amazonaws.com",
            "sns:Publish",
            TOPIC_ARN,
            {"aws:SourceArn": foreign_rule, "aws:SourceAccount": OUTSIDER, **TLS},
        ),
    )


def test_eventbridge_may_use_the_approval_topic_key(
    world: World, build_support: str, artifacts_key: str
) -> None:
    """The fault issue 10 item 1 fixes: the key asked for a source account EventBridge never sends it."""
    key = world.attribute(build_support, "AWS::KMS::Key", "ApprovalTopicKey")
    # For a topic encrypted with a customer managed key, EventBridge's KMS calls carry neither
    # aws:SourceAccount nor aws:SourceArn (SNS Developer Guide, "Key management": compatibility between
    # event sources from AWS services and encrypted topics, the note on EventBridge). SNS's encryption
    # context names the topic, kms:EncryptionContext:aws:sns:topicArn (its key policy examples).
    # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    context = {"kms:EncryptionContext:aws:sns:topicArn": TOPIC_ARN}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        allowed(world, Request("events.amazonaws.com", action, key, context))
    denied(world, Request("s3.amazonaws.com", "kms:GenerateDataKey", key, context))
    denied(world, Request("events.amazonaws.com", "kms:GenerateDataKey", artifacts_key, context))


def dead_letter_queue(world: World, build_support: str) -> tuple[str, str]:
    """The approval rule's dead-letter queue and its key (issue 10 item 1)."""
    try:
        queue = world.resource_in(build_support, "AWS::SQS::Queue")
    except LookupError:
        pytest.fail(
            "the build-support stack has no dead-letter queue for the approval rule (issue 10 item 1)"
        )
    queue_arn = queue["Metadata"]["Cloud-Radar"]["attribute-values"]["Arn"]
    rule = world.resource_in(build_support, "AWS::Events::Rule", "ModelApproved")
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == TOPIC_ARN
    assert target["DeadLetterConfig"]["Arn"] == queue_arn
    key = str(queue["Properties"]["KmsMasterKeyId"])
    key_arn = key if key.startswith("arn:") else f"arn:aws:kms:{REGION}:{BUILD}:key/{key}"
    return queue_arn, key_arn


def test_eventbridge_dead_letters_undelivered_approvals(
    world: World, build_support: str, rule_arn: str
) -> None:
    queue, key = dead_letter_queue(world, build_support)
    # EventBridge sends to its dead-letter queue as events.amazonaws.com with aws:SourceArn = the rule
    # (EventBridge User Guide, "Using dead-letter queues to process undelivered events", permissions).
    # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
    context = {"aws:SourceArn": rule_arn, "aws:SourceAccount": BUILD, **TLS}
    allowed(world, Request("events.amazonaws.com", "sqs:SendMessage", queue, context))
    other_rule = f"arn:aws:events:{REGION}:{BUILD}:rule/another-rule"
    denied(
        world,
        Request("events.amazonaws.com", "sqs:SendMessage", queue, {**context, "aws:SourceArn": other_rule}),
    )
    # An encrypted queue needs the key policy to let EventBridge use the key (same page, "encrypted queues");
    # SQS's encryption context names the queue (SQS Developer Guide, "Encryption at rest": aws:sqs:arn).
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
    kms_context = {"kms:EncryptionContext:aws:sqs:arn": queue}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        allowed(world, Request("events.amazonaws.com", action, key, kms_context))
    denied(world, Request("s3.amazonaws.com", "kms:GenerateDataKey", key, kms_context))


def test_sns_invokes_the_approval_trigger(world: World) -> None:
    # SNS invokes a subscribed function as sns.amazonaws.com with aws:SourceArn = the topic
    # (Lambda Developer Guide, "Invoking Lambda functions with Amazon SNS notifications").
    # https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html
    context = {"aws:SourceArn": TOPIC_ARN, "aws:SourceAccount": BUILD}
    allowed(world, Request("sns.amazonaws.com", "lambda:InvokeFunction", TRIGGER_ARN, context))
    other = {"aws:SourceArn": OTHER_TOPIC_ARN, "aws:SourceAccount": EXPERIMENT_BUILD}
    denied(world, Request("sns.amazonaws.com", "lambda:InvokeFunction", TRIGGER_ARN, other))


def test_the_tooling_account_subscribes_only_the_trigger(world: World) -> None:
    """CloudFormation (the tooling account's CDK execution role) creates the trigger's subscription."""
    cloudformation = cdk_role("cfn-exec", TOOLING)
    # Subscribe carries sns:Protocol and sns:Endpoint (SNS Developer Guide, "Amazon SNS API permissions:
    # Actions and resources reference", service-specific keys).
    # https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html
    context = {"sns:Protocol": "lambda", "sns:Endpoint": TRIGGER_ARN, **TLS}
    allowed(world, Request(cloudformation, "sns:Subscribe", TOPIC_ARN, context))
    for protocol, endpoint in (("email", "someone@example.com"), ("https", "https://example.com/hook")):
        near = {**context, "sns:Protocol": protocol, "sns:Endpoint": endpoint}
        denied(world, Request(cloudformation, "sns:Subscribe", TOPIC_ARN, near))
    denied(
        world,
        Request(cloudformation, "sns:Subscribe", TOPIC_ARN, {**context, "sns:Endpoint": OTHER_TRIGGER_ARN}),
    )
    denied(world, Request(cdk_role("cfn-exec", EXPERIMENT_DEPLOY), "sns:Subscribe", TOPIC_ARN, context))


# --- training -----------------------------------------------------------------------------------------


def test_the_model_build_project_assumes_the_access_role(world: World) -> None:
    # STS decides on the trust policy with the caller's aws:PrincipalArn, which every signed request carries
    # (IAM User Guide, "AWS global condition context keys": aws:PrincipalArn); the evaluator adds it.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn
    allowed(world, Request(PROJECT_ROLE, "sts:AssumeRole", ACCESS_ROLE))
    other_project = f"arn:aws:iam::{TOOLING}:role/{OTHER.model_build_project_role}"
    denied(
        world.with_role_like(other_project, PROJECT_ROLE),
        Request(other_project, "sts:AssumeRole", ACCESS_ROLE),
    )
    foreign = PROJECT_ROLE.replace(TOOLING, OUTSIDER)
    denied(world.with_role_like(foreign, PROJECT_ROLE), Request(foreign, "sts:AssumeRole", ACCESS_ROLE))


def test_the_access_role_runs_only_its_pipeline(world: World) -> None:
    for action in (
        "sagemaker:UpdatePipeline",
        "sagemaker:DescribePipeline",
        "sagemaker:StartPipelineExecution",
    ):
        allowed(world, Request(ACCESS_ROLE, action, PIPELINE_ARN))
    allowed(
        world, Request(ACCESS_ROLE, "sagemaker:DescribePipelineExecution", f"{PIPELINE_ARN}/execution/abc123")
    )
    another = f"arn:aws:sagemaker:{REGION}:{BUILD}:pipeline/{OTHER.sagemaker_pipeline}"
    denied(world, Request(ACCESS_ROLE, "sagemaker:StartPipelineExecution", another))


def test_the_access_role_passes_only_the_execution_role_to_sagemaker(world: World) -> None:
    # IAM adds iam:PassedToService, the service the role is passed to (IAM User Guide, "Grant a user
    # permissions to pass a role to an AWS service").
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
    allowed(
        world,
        Request(
            ACCESS_ROLE, "iam:PassRole", EXECUTION_ROLE, {"iam:PassedToService": "sagemaker.amazonaws.com"}
        ),
    )
    denied(
        world,
        Request(ACCESS_ROLE, "iam:PassRole", EXECUTION_ROLE, {"iam:PassedToService": "lambda.amazonaws.com"}),
    )
    denied(
        world,
        Request(ACCESS_ROLE, "iam:PassRole", ACCESS_ROLE, {"iam:PassedToService": "sagemaker.amazonaws.com"}),
    )


def test_the_access_role_writes_only_pipeline_code(world: World, artifacts_key: str) -> None:
    code = f"{BUCKET_ARN}/{PIPELINE_CODE_PREFIX}/{NAMES.sagemaker_pipeline}/0123abcd/preprocess.py"
    allowed(world, Request(ACCESS_ROLE, "s3:PutObject", code, TLS))
    allowed(
        world, Request(ACCESS_ROLE, "kms:GenerateDataKey", artifacts_key, s3_kms_context(BUCKET_ARN, BUILD))
    )
    for outside in (f"{MODEL_PREFIX}/pipelines-abc/model.tar.gz", "data/train.csv"):
        denied(world, Request(ACCESS_ROLE, "s3:PutObject", f"{BUCKET_ARN}/{outside}", TLS))


def test_the_tooling_account_neither_writes_nor_reads_artifacts(world: World, artifacts_key: str) -> None:
    """Issue 10 item 3: even an administrator of the tooling account cannot replace a served model."""
    admin = cdk_role("cfn-exec", TOOLING)
    model = f"{BUCKET_ARN}/{MODEL_PREFIX}/pipelines-abc/output/model.tar.gz"
    denied(world, Request(admin, "s3:PutObject", model, TLS))
    denied(world, Request(admin, "s3:GetObject", model, TLS))
    denied(world, Request(admin, "kms:GenerateDataKey", artifacts_key, s3_kms_context(BUCKET_ARN, TOOLING)))


def test_the_execution_role_uses_the_bucket_key_and_registry(world: World, artifacts_key: str) -> None:
    for action, key in (
        ("s3:GetObject", f"{PIPELINE_CODE_PREFIX}/{NAMES.sagemaker_pipeline}/0123abcd/preprocess.py"),
        ("s3:GetObject", "data/train.csv"),
        ("s3:PutObject", f"{MODEL_PREFIX}/pipelines-abc/output/model.tar.gz"),
    ):
        allowed(world, Request(EXECUTION_ROLE, action, f"{BUCKET_ARN}/{key}", TLS))
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        allowed(world, Request(EXECUTION_ROLE, action, artifacts_key, s3_kms_context(BUCKET_ARN, BUILD)))
    # sagemaker:ModelApprovalStatus is CreateModelPackage's and UpdateModelPackage's condition key, the
    # request's ModelApprovalStatus (Service Authorization Reference, "Actions, resources, and condition keys
    # for Amazon SageMaker AI").
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html#amazonsagemaker-policy-keys
    pending = {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}
    allowed(world, Request(EXECUTION_ROLE, "sagemaker:CreateModelPackage", NEW_PACKAGE_ARN, pending))
    another_group = f"arn:aws:sagemaker:{REGION}:{BUILD}:model-package/{OTHER.model_package_group}/1"
    denied(world, Request(EXECUTION_ROLE, "sagemaker:CreateModelPackage", another_group, pending))
    logs_bucket = f"arn:aws:s3:::{NAMES.access_logs_bucket}"
    denied(world, Request(EXECUTION_ROLE, "s3:GetObject", f"{logs_bucket}/artifacts/log", TLS))


def model_image_repository(world: World, build_support: str) -> str:
    """The build account's repository for custom inference images (issue 10 item 5)."""
    try:
        return world.attribute(build_support, "AWS::ECR::Repository")
    except LookupError:
        pytest.fail("the build-support stack has no ECR repository for model images (issue 10 item 5)")


def test_the_execution_role_pulls_from_the_model_image_repository(world: World, build_support: str) -> None:
    repository = model_image_repository(world, build_support)
    for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"):
        allowed(world, Request(EXECUTION_ROLE, action, repository))


def test_the_access_role_pushes_only_to_the_model_image_repository(world: World, build_support: str) -> None:
    """The buildspec may build a custom inference image; tags are immutable, so a pushed one stays."""
    repository = model_image_repository(world, build_support)
    for action in (
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
    ):
        allowed(world, Request(ACCESS_ROLE, action, repository))
    another = f"arn:aws:ecr:{REGION}:{BUILD}:repository/someone-elses-images"
    denied(world, Request(ACCESS_ROLE, "ecr:PutImage", another))
    denied(world, Request(EXECUTION_ROLE, "ecr:PutImage", repository))


def test_the_execution_role_lets_sagemaker_encrypt_job_volumes(world: World, artifacts_key: str) -> None:
    """SageMaker creates a grant on the volume key for the job, as the caller (the execution role).

    KMS sets kms:GrantIsForAWSResource to true when an AWS service integrated with KMS calls CreateGrant
    on the caller's behalf, and to false when the caller calls it itself (KMS Developer Guide,
    "AWS KMS condition keys": https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html).
    """
    by_sagemaker = {"kms:GrantIsForAWSResource": "true"}
    allowed(world, Request(EXECUTION_ROLE, "kms:CreateGrant", artifacts_key, by_sagemaker))
    denied(
        world,
        Request(EXECUTION_ROLE, "kms:CreateGrant", artifacts_key, {"kms:GrantIsForAWSResource": "false"}),
    )
    denied(world, Request(ACCESS_ROLE, "kms:CreateGrant", artifacts_key, by_sagemaker))


@pytest.mark.parametrize("role", [ACCESS_ROLE, EXECUTION_ROLE], ids=["access-role", "execution-role"])
def test_no_build_role_can_approve(world: World, role: str) -> None:
    """Approval belongs to people (issue 10 item 2): no role approves or creates an approved version."""
    approved = {"sagemaker:ModelApprovalStatus": "Approved"}
    denied(world, Request(role, "sagemaker:UpdateModelPackage", PACKAGE_ARN, approved))
    denied(world, Request(role, "sagemaker:CreateModelPackage", NEW_PACKAGE_ARN, approved))
    # Without the key (a request that leaves the status out) the condition cannot hold either.
    denied(world, Request(role, "sagemaker:CreateModelPackage", NEW_PACKAGE_ARN))


def test_the_access_role_writes_nothing_to_the_registry(world: World) -> None:
    pending = {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}
    denied(world, Request(ACCESS_ROLE, "sagemaker:CreateModelPackage", NEW_PACKAGE_ARN, pending))
    denied(world, Request(ACCESS_ROLE, "sagemaker:UpdateModelPackage", PACKAGE_ARN, pending))


# --- deployment ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("account", DEPLOY)
def test_deploy_account_cloudformation_builds_models_from_the_package(world: World, account: str) -> None:
    """The endpoint stack's CfnModel names the build account's package; CloudFormation creates it."""
    cloudformation = cdk_role("cfn-exec", account)
    for action in ("sagemaker:DescribeModelPackage", "sagemaker:CreateModel"):
        allowed(world, Request(cloudformation, action, PACKAGE_ARN))
    denied(world, Request(cloudformation, "sagemaker:UpdateModelPackage", PACKAGE_ARN))
    another_group = f"arn:aws:sagemaker:{REGION}:{BUILD}:model-package/{OTHER.model_package_group}/1"
    denied(world, Request(cloudformation, "sagemaker:CreateModel", another_group))
    denied(world, Request(cdk_role("cfn-exec", EXPERIMENT_DEPLOY), "sagemaker:CreateModel", PACKAGE_ARN))


def endpoint_role(world: World, synth: Synth, environment: str) -> str:
    """The endpoint stack's execution role, under its fixed name (issue 10 item 3)."""
    account = TARGETS[environment]
    stack = synth.stack(f"{PROD_GROUP}/ModelDeploy/{environment}/Endpoint").stack_name
    arn = world.attribute(stack, "AWS::IAM::Role", "ModelExecutionRole")
    assert arn == f"arn:aws:iam::{account}:role/{endpoint_role_name(NAMES, environment)}"
    return arn


@pytest.mark.parametrize("environment", sorted(TARGETS))
def test_the_endpoint_role_reads_its_model_artifact(
    world: World, approved_synth: Synth, artifacts_key: str, environment: str
) -> None:
    role = endpoint_role(world, approved_synth, environment)
    account = TARGETS[environment]
    model = APPROVED_MODEL["modelDataUrl"].removeprefix("s3://")
    # SageMaker reads the artifact as the execution role when it creates the model's containers
    # (SageMaker Developer Guide, "CreateModel API: Execution Role Permissions").
    # https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createmodel-perms
    allowed(world, Request(role, "s3:GetObject", f"arn:aws:s3:::{model}", TLS))
    decrypt = s3_kms_context(BUCKET_ARN, account)
    # kms:ResourceAliases: the key's aliases, which KMS adds (KMS Developer Guide, "kms:ResourceAliases").
    # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases
    decrypt["kms:ResourceAliases"] = [NAMES.artifacts_key_alias]
    allowed(world, Request(role, "kms:Decrypt", artifacts_key, decrypt))
    if account == BUILD:
        return
    # Near misses across accounts: training data, another group's endpoint role in the same account, and
    # the same role name in an account outside the group.
    denied(world, Request(role, "s3:GetObject", f"{BUCKET_ARN}/data/train.csv", TLS))
    other = f"arn:aws:iam::{account}:role/{endpoint_role_name(OTHER, environment)}"
    near = world.with_role_like(other, role)
    denied(near, Request(other, "s3:GetObject", f"arn:aws:s3:::{model}", TLS))
    denied(near, Request(other, "kms:Decrypt", artifacts_key, decrypt))
    foreign = role.replace(account, EXPERIMENT_DEPLOY)
    near = world.with_role_like(foreign, role)
    denied(near, Request(foreign, "s3:GetObject", f"arn:aws:s3:::{model}", TLS))
    # Nor any other principal of the deploy account, an administrator included.
    denied(world, Request(cdk_role("cfn-exec", account), "s3:GetObject", f"arn:aws:s3:::{model}", TLS))
    denied(
        near,
        Request(foreign, "kms:Decrypt", artifacts_key, {**decrypt, "kms:CallerAccount": EXPERIMENT_DEPLOY}),
    )


@pytest.mark.parametrize("environment", sorted(TARGETS))
def test_the_endpoint_role_pulls_only_the_approved_image(
    world: World, approved_synth: Synth, environment: str
) -> None:
    role = endpoint_role(world, approved_synth, environment)
    approved = image_repository_arn(APPROVED_MODEL["imageUri"])
    # SageMaker pulls the image as the execution role (SageMaker Developer Guide, "CreateModel API:
    # Execution Role Permissions": ecr:BatchGetImage, ecr:GetDownloadUrlForLayer on the repository).
    # https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createmodel-perms
    for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"):
        allowed(world, Request(role, action, approved))
    another = f"arn:aws:ecr:{REGION}:{AWS_IMAGE_ACCOUNT}:repository/sagemaker-scikit-learn"
    denied(world, Request(role, "ecr:BatchGetImage", another))


@pytest.mark.parametrize("environment", ["prod-approval-env", "prod-env"])
def test_the_model_image_repository_admits_the_deploy_accounts_endpoint_roles(
    world: World, approved_synth: Synth, build_support: str, environment: str
) -> None:
    """An approved image in the build account's repository: its policy must admit the endpoint roles."""
    repository = model_image_repository(world, build_support)
    role = endpoint_role(world, approved_synth, environment)
    pulling = {"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": repository}
    world = world.with_role_like(role, role)
    world.roles[role].identity.append({"Statement": [pulling]})
    allowed(world, Request(role, "ecr:BatchGetImage", repository))
    account = TARGETS[environment]
    other = f"arn:aws:iam::{account}:role/{endpoint_role_name(OTHER, environment)}"
    denied(world.with_role_like(other, role), Request(other, "ecr:BatchGetImage", repository))
    foreign = role.replace(account, EXPERIMENT_DEPLOY)
    denied(world.with_role_like(foreign, role), Request(foreign, "ecr:BatchGetImage", repository))


@pytest.mark.parametrize("environment", ["prod-approval-env", "prod-env"])
def test_the_scaling_function_registers_only_its_own_endpoint(
    world: World, approved_synth: Synth, environment: str
) -> None:
    """What Application Auto Scaling requires of its caller for a SageMaker variant (Application Auto
    Scaling User Guide, "Identity-based policy examples": SageMaker endpoints; SageMaker Developer Guide,
    "Auto scaling prerequisites": the service-linked role, with iam:AWSServiceName).
    https://docs.aws.amazon.com/autoscaling/application/userguide/security_iam_id-based-policy-examples.html
    """
    account = TARGETS[environment]
    stack = approved_synth.stack(f"{PROD_GROUP}/ModelDeploy/{environment}/Endpoint").stack_name
    role = world.attribute(stack, "AWS::IAM::Role", "ScalingFunctionRole")
    endpoint = f"arn:aws:sagemaker:{REGION}:{account}:endpoint/{NAMES.endpoint(environment)}"
    other_endpoint = f"arn:aws:sagemaker:{REGION}:{account}:endpoint/{OTHER.endpoint(environment)}"
    # Scalable targets are named by an id the service generates.
    target = f"arn:aws:application-autoscaling:{REGION}:{account}:scalable-target/056e5ee5f2a1cd2e"
    for action in ("RegisterScalableTarget", "PutScalingPolicy", "DeregisterScalableTarget"):
        allowed(world, Request(role, f"application-autoscaling:{action}", target))
    for action in ("sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"):
        allowed(world, Request(role, action, endpoint))
        denied(world, Request(role, action, other_endpoint))
    alarm = (
        f"arn:aws:cloudwatch:{REGION}:{account}:alarm:TargetTracking-endpoint/{NAMES.endpoint(environment)}"
    )
    other_alarm = alarm.replace(NAMES.endpoint(environment), OTHER.endpoint(environment))
    suffix = "/variant/AllTraffic-AlarmHigh-609224a3-ce77-4cf9-98c7-0d5211b1fec2"
    allowed(world, Request(role, "cloudwatch:PutMetricAlarm", alarm + suffix))
    denied(world, Request(role, "cloudwatch:PutMetricAlarm", other_alarm + suffix))
    service = "sagemaker.application-autoscaling.amazonaws.com"
    linked_roles = f"arn:aws:iam::{account}:role/aws-service-role"
    linked = f"{linked_roles}/{service}/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    allowed(world, Request(role, "iam:CreateServiceLinkedRole", linked, {"iam:AWSServiceName": service}))
    ecs = "ecs.application-autoscaling.amazonaws.com"
    ecs_role = f"{linked_roles}/{ecs}/AWSServiceRoleForApplicationAutoScaling_ECSService"
    denied(world, Request(role, "iam:CreateServiceLinkedRole", ecs_role, {"iam:AWSServiceName": ecs}))
    # Its own stack's status only (by stack id, as CloudFormation's events name it).
    own = f"arn:aws:cloudformation:{REGION}:{account}:stack/{stack}/00000000-0000-4000-8000-000000000000"
    allowed(world, Request(role, "cloudformation:DescribeStacks", own))
    other_stack = f"arn:aws:cloudformation:{REGION}:{account}:stack/another-stack/1"
    denied(world, Request(role, "cloudformation:DescribeStacks", other_stack))
    denied(world, Request(role, "sagemaker:UpdateEndpoint", endpoint))


@pytest.mark.parametrize("environment", sorted(TARGETS))
def test_the_endpoint_role_reads_only_its_own_rollback_alarms(
    world: World, approved_synth: Synth, environment: str
) -> None:
    """SageMaker reads the auto-rollback alarms' state as the model's execution role: "Ensure that your
    IAM execution role has permission to perform the cloudwatch:DescribeAlarms action on the auto-rollback
    alarms you specify" (SageMaker Developer Guide, "Auto-Rollback Configuration and Monitoring"); the
    call sends no condition keys beyond the global ones.
    https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html
    """
    role = endpoint_role(world, approved_synth, environment)
    account = TARGETS[environment]

    def alarm(endpoint: str, kind: str) -> str:
        return f"arn:aws:cloudwatch:{REGION}:{account}:alarm:{endpoint}-rollback-{kind}"

    own = NAMES.endpoint(environment)
    for kind in ("5xx", "latency"):
        allowed(world, Request(role, "cloudwatch:DescribeAlarms", alarm(own, kind)))
    # Another endpoint's alarm in the same account (the other group's, or the same name from another
    # account), and the alarms' writes, are not the role's.
    denied(world, Request(role, "cloudwatch:DescribeAlarms", alarm(OTHER.endpoint(environment), "5xx")))
    denied(world, Request(role, "cloudwatch:DescribeAlarms", alarm(own, "5xx").replace(account, OUTSIDER)))
    denied(world, Request(role, "cloudwatch:DescribeAlarms", alarm(own, "5xx").replace("5xx", "custom")))
    denied(world, Request(role, "cloudwatch:PutMetricAlarm", alarm(own, "5xx")))
    denied(world, Request(role, "cloudwatch:DeleteAlarms", alarm(own, "5xx")))


def test_the_deploy_pipeline_assumes_only_its_targets_deploy_roles(world: World, model_deploy: str) -> None:
    pipeline = world.attribute(model_deploy, "AWS::IAM::Role", "PipelineRole")
    # CodePipeline assumes action roles with the pipeline role's credentials, no external id
    # (CDK Developer Guide, "Bootstrapping": the deploy role trusts the --trust accounts).
    # https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html
    for account in TARGETS.values():
        allowed(world, Request(pipeline, "sts:AssumeRole", cdk_role("deploy", account)))
    denied(world, Request(pipeline, "sts:AssumeRole", cdk_role("deploy", EXPERIMENT_DEPLOY)))
    denied(world, Request(pipeline, "sts:AssumeRole", cdk_role("cfn-exec", DEPLOY[0])))


def test_the_deploy_synth_looks_up_endpoint_networks_in_its_targets_only(
    world: World, model_deploy: str
) -> None:
    """The CDK CLI assumes each endpoint account's lookup role for the SSM context lookups."""
    synth = world.attribute(model_deploy, "AWS::IAM::Role", "PipelineBuildSynthCdkBuildProjectRole")
    for account in TARGETS.values():
        lookup = cdk_role("lookup", account)
        allowed(world, Request(synth, "sts:AssumeRole", lookup))
        for name in ("vpc/subnets/private/ids", "vpc/sg/id"):
            parameter = f"arn:aws:ssm:{REGION}:{account}:parameter/mlops/{name}"
            allowed(world, Request(lookup, "ssm:GetParameter", parameter))
    denied(world, Request(synth, "sts:AssumeRole", cdk_role("lookup", EXPERIMENT_DEPLOY)))
    denied(world, Request(synth, "sts:AssumeRole", cdk_role("deploy", DEPLOY[0])))
    # The deploy role, which CloudFormation would resolve an SSM-typed parameter as, may not read them.
    parameter = f"arn:aws:ssm:{REGION}:{DEPLOY[0]}:parameter/mlops/vpc/sg/id"
    denied(world, Request(cdk_role("deploy", DEPLOY[0]), "ssm:GetParameter", parameter))


def test_target_deploy_roles_read_only_the_pipeline_artifacts(
    world: World, model_deploy: str, approved_synth: Synth
) -> None:
    bucket = world.attribute(model_deploy, "AWS::S3::Bucket", "ArtifactStoreBucket", name="Ref")
    key = world.attribute(model_deploy, "AWS::KMS::Key", "ArtifactStoreKey")
    artifact = f"arn:aws:s3:::{bucket}/{NAMES.model_deploy_pipeline[:20]}/Synth_Outp/abc123"
    for account in TARGETS.values():
        deploy = cdk_role("deploy", account)
        # S3 sends s3:ResourceAccount, the bucket owner's account (Service Authorization Reference,
        # "Actions, resources, and condition keys for Amazon S3"), which the bootstrap's deploy role checks.
        # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
        read = {"s3:ResourceAccount": TOOLING, **TLS}
        allowed(world, Request(deploy, "s3:GetObject", artifact, read))
        allowed(world, Request(deploy, "kms:Decrypt", key, s3_kms_context(f"arn:aws:s3:::{bucket}", account)))
        denied(world, Request(deploy, "s3:PutObject", artifact, read))
    outsider = cdk_role("deploy", EXPERIMENT_DEPLOY)
    denied(world, Request(outsider, "s3:GetObject", artifact, {"s3:ResourceAccount": TOOLING, **TLS}))
    denied(
        world,
        Request(outsider, "kms:Decrypt", key, s3_kms_context(f"arn:aws:s3:::{bucket}", EXPERIMENT_DEPLOY)),
    )


def test_the_trigger_records_and_starts_only_its_own(world: World, model_deploy: str) -> None:
    trigger = world.attribute(model_deploy, "AWS::IAM::Role", "ApprovalTriggerRole")
    parameter = f"arn:aws:ssm:{REGION}:{TOOLING}:parameter{NAMES.approved_model_parameter}"
    pipeline = f"arn:aws:codepipeline:{REGION}:{TOOLING}:{NAMES.model_deploy_pipeline}"
    allowed(world, Request(trigger, "ssm:PutParameter", parameter))
    allowed(world, Request(trigger, "codepipeline:StartPipelineExecution", pipeline))
    other_parameter = f"arn:aws:ssm:{REGION}:{TOOLING}:parameter{OTHER.approved_model_parameter}"
    other_pipeline = f"arn:aws:codepipeline:{REGION}:{TOOLING}:{OTHER.model_deploy_pipeline}"
    denied(world, Request(trigger, "ssm:PutParameter", other_parameter))
    denied(world, Request(trigger, "codepipeline:StartPipelineExecution", other_pipeline))


def test_the_module_role_starts_the_infra_pipeline(world: World, approved_synth: Synth) -> None:
    top = stack_name(approved_synth, "MlopsCicd")
    name = world.attribute(top, "AWS::CodePipeline::Pipeline", "InfraPipeline", name="Ref")
    pipeline = f"arn:aws:codepipeline:{REGION}:{TOOLING}:{name}"
    # CodePipeline authorizes with the pipeline's tags as aws:ResourceTag/<key> (CodePipeline User Guide,
    # "Using tags to control access to CodePipeline resources").
    # https://docs.aws.amazon.com/codepipeline/latest/userguide/tag-based-access-control.html
    tags = {f"aws:ResourceTag/{k}": v for k, v in world.resources[pipeline].tags.items()}
    allowed(world, Request(MODULE_ROLE, "codepipeline:StartPipelineExecution", pipeline, tags))
    another = f"arn:aws:codepipeline:{REGION}:{TOOLING}:another-module-pipeline"
    for key, value in (("SeedFarmerModuleName", "another-module"), ("SeedFarmerDeploymentName", "other")):
        near = {**tags, f"aws:ResourceTag/{key}": value}
        denied(world, Request(MODULE_ROLE, "codepipeline:StartPipelineExecution", another, near))


# --- the smoke test after each endpoint stage (issue 16 item 3) ---------------------------------------------


def smoke_roles(environment: str) -> tuple[str, str]:
    """The step's project role (tooling account) and the smoke role it assumes (the endpoint's account)."""
    return (
        f"arn:aws:iam::{TOOLING}:role/{NAMES.smoke_test_project_role(environment)}",
        f"arn:aws:iam::{TARGETS[environment]}:role/{NAMES.smoke_test_role(environment)}",
    )


@pytest.mark.parametrize("environment", sorted(TARGETS))
def test_only_the_smoke_test_project_assumes_its_smoke_role(world: World, environment: str) -> None:
    project, smoke = smoke_roles(environment)
    # STS decides on the trust policy with the caller's aws:PrincipalArn (IAM User Guide, "AWS global
    # condition context keys": aws:PrincipalArn); a role's ARN in a condition need not exist yet.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn
    allowed(world, Request(project, "sts:AssumeRole", smoke))
    # Another tooling role, even one allowed to assume anything: the trust names the project role only.
    for other in (PROJECT_ROLE, smoke_roles(next(e for e in sorted(TARGETS) if e != environment))[0]):
        denied(world.with_role_like(other, project), Request(other, "sts:AssumeRole", smoke))
    foreign = project.replace(TOOLING, OUTSIDER)
    denied(world.with_role_like(foreign, project), Request(foreign, "sts:AssumeRole", smoke))


@pytest.mark.parametrize("environment", sorted(TARGETS))
def test_the_smoke_role_invokes_only_its_endpoint(world: World, environment: str) -> None:
    _, smoke = smoke_roles(environment)
    account = TARGETS[environment]
    # InvokeEndpoint and DescribeEndpoint authorize on the endpoint's ARN (Service Authorization Reference,
    # "Actions, resources, and condition keys for Amazon SageMaker AI": resource type endpoint).
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html
    endpoint = f"arn:aws:sagemaker:{REGION}:{account}:endpoint/{NAMES.endpoint(environment)}"
    other_endpoint = f"arn:aws:sagemaker:{REGION}:{account}:endpoint/{OTHER.endpoint(environment)}"
    for action in ("sagemaker:InvokeEndpoint", "sagemaker:DescribeEndpoint"):
        allowed(world, Request(smoke, action, endpoint))
        denied(world, Request(smoke, action, other_endpoint))
    denied(world, Request(smoke, "sagemaker:UpdateEndpoint", endpoint))
    # The approved version's SamplePayloadUrl, through the registry's policy for the group's accounts.
    allowed(world, Request(smoke, "sagemaker:DescribeModelPackage", PACKAGE_ARN))
    denied(world, Request(smoke, "sagemaker:CreateModel", PACKAGE_ARN))


@pytest.mark.parametrize("environment", sorted(TARGETS))
def test_the_smoke_role_reads_sample_payloads_only(
    world: World, artifacts_key: str, environment: str
) -> None:
    _, smoke = smoke_roles(environment)
    account = TARGETS[environment]
    # The model-build contract: samples under SAMPLE_PAYLOADS_PREFIX (examples/model-build-repo, README).
    sample = (
        f"{BUCKET_ARN}/samples/{NAMES.sagemaker_pipeline}/executions/abc/preprocess/samples/payload.tar.gz"
    )
    # S3 decrypts an SSE-KMS object with the caller's permissions on the key (S3 User Guide, "Using SSE-KMS").
    decrypt = {**s3_kms_context(BUCKET_ARN, account), "kms:ResourceAliases": [NAMES.artifacts_key_alias]}
    allowed(world, Request(smoke, "s3:GetObject", sample, TLS))
    allowed(world, Request(smoke, "kms:Decrypt", artifacts_key, decrypt))
    model = APPROVED_MODEL["modelDataUrl"].removeprefix("s3://")
    denied(world, Request(smoke, "s3:GetObject", f"arn:aws:s3:::{model}", TLS))
    denied(world, Request(smoke, "s3:PutObject", sample, TLS))
    denied(
        world,
        Request(
            smoke, "kms:Decrypt", artifacts_key, {**decrypt, "kms:ViaService": "sqs.us-east-1.amazonaws.com"}
        ),
    )
    if account == BUILD:
        return
    # Across accounts the bucket's and the key's own statements admit it, and nobody else of its account.
    denied(
        world.without_statement("SmokeTestRolesReadSamplePayloads"),
        Request(smoke, "s3:GetObject", sample, TLS),
    )
    endpoint_role = f"arn:aws:iam::{account}:role/{endpoint_role_name(NAMES, environment)}"
    denied(world, Request(endpoint_role, "s3:GetObject", sample, TLS))
    other = f"arn:aws:iam::{account}:role/{OTHER.smoke_test_role(environment)}"
    near = world.with_role_like(other, smoke)
    denied(near, Request(other, "s3:GetObject", sample, TLS))
    denied(near, Request(other, "kms:Decrypt", artifacts_key, decrypt))


# --- data capture: the three-accounts manifest, whose release group approved a version --------------------


@pytest.fixture(scope="module")
def capture_world(three_accounts_synth: Synth) -> tuple[World, Synth]:
    synth = three_accounts_synth
    boundary = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    # The user's own boundary (permissions-boundary-name): assumed to allow what the module needs (README).
    world = World(
        {f"arn:aws:iam::{a}:policy/mlops-boundary": boundary for a in ("333333333333", "444444444444")}
    )
    for name, stack in synth.stacks.items():
        if name.endswith("/Endpoint"):
            add_stack(world, stack)
    return world, synth


@pytest.mark.parametrize("environment", ["preprod", "prod"])
def test_the_endpoint_role_writes_data_capture(capture_world: tuple[World, Synth], environment: str) -> None:
    world, synth = capture_world
    stack = synth.stack(f"release/ModelDeploy/{environment}/Endpoint").stack_name
    role = world.attribute(stack, "AWS::IAM::Role", "ModelExecutionRole")
    bucket = world.attribute(stack, "AWS::S3::Bucket", "DataCaptureBucket", name="Ref")
    key = world.attribute(stack, "AWS::KMS::Key", "EndpointKey")
    account = role.split(":")[4]
    # SageMaker writes captured data as the execution role, encrypting with the config's KmsKeyId
    # (SageMaker Developer Guide, "Capture data from real-time endpoint": KMS key permissions).
    # https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html
    capture = f"arn:aws:s3:::{bucket}/data-capture/ep/variant/2026/11/30/05/capture.jsonl"
    allowed(world, Request(role, "s3:PutObject", capture, TLS))
    for action in ("kms:GenerateDataKey", "kms:Encrypt"):
        allowed(world, Request(role, action, key, s3_kms_context(f"arn:aws:s3:::{bucket}", account)))
    denied(world, Request(role, "s3:PutObject", f"arn:aws:s3:::{bucket}/elsewhere/x", TLS))
    other_environment = {"preprod": "prod", "prod": "preprod"}[environment]
    other_stack = synth.stack(f"release/ModelDeploy/{other_environment}/Endpoint").stack_name
    other_key = world.attribute(other_stack, "AWS::KMS::Key", "EndpointKey")
    denied(
        world,
        Request(role, "kms:GenerateDataKey", other_key, s3_kms_context(f"arn:aws:s3:::{bucket}", account)),
    )


# --- the proof can fail ------------------------------------------------------------------------------------


def test_the_proof_denies_once_a_needed_statement_is_gone(world: World, rule_arn: str) -> None:
    publish = Request(
        "events.amazonaws.com",
        "sns:Publish",
        TOPIC_ARN,
        {"aws:SourceArn": rule_arn, "aws:SourceAccount": BUILD, **TLS},
    )
    denied(world.without_statement("EventBridgePublishesApprovals"), publish)
    denied(
        world.without_statement("AssumeBuildAccountRole"),
        Request(PROJECT_ROLE, "sts:AssumeRole", ACCESS_ROLE),
    )
    passing = Request(
        ACCESS_ROLE, "iam:PassRole", EXECUTION_ROLE, {"iam:PassedToService": "sagemaker.amazonaws.com"}
    )
    denied(world.without_statement("PassExecutionRoleToSageMaker"), passing)
