"""Build account: the roles a group's training runs as, and the one the tooling account's build assumes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from blocks import cdk_values
from blocks.nag import acknowledge, bucket_access
from names import PIPELINE_CODE_PREFIX, GroupNames
from stages.model_registry import registry_versions, sagemaker_arn

if TYPE_CHECKING:
    from stages.build_support import BuildSupportStack


def sagemaker_execution_role(stack: BuildSupportStack, names: GroupNames) -> iam.Role:
    """What the SageMaker pipeline's jobs run as: this group's data, registry and logs only."""
    role = iam.Role(
        stack,
        "SageMakerExecutionRole",
        role_name=names.sagemaker_execution_role,
        path="/service-role/",
        assumed_by=cdk_values.service_principal("sagemaker.amazonaws.com"),
        description="Runs the SageMaker pipeline's processing and training jobs",
    )
    stack.artifacts_bucket.grant_read_write(role)
    jobs = [
        stack.format_arn(service="sagemaker", resource=kind, resource_name="*")
        for kind in ("processing-job", "training-job")
    ]
    role.add_to_policy(
        iam.PolicyStatement(
            sid="RunJobs",
            actions=[
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
                "sagemaker:AddTags",
            ],
            resources=jobs,
        )
    )
    _allow_pending_registrations(stack, role, names)
    # Jobs encrypt their volumes with the group's key; SageMaker creates the grant for them.
    role.add_to_policy(
        iam.PolicyStatement(
            sid="GrantJobVolumesTheKey",
            actions=["kms:CreateGrant", "kms:DescribeKey"],
            resources=[stack.artifacts_key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="PassItselfToJobs",
            actions=["iam:PassRole"],
            resources=[role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(sid="PullImages", actions=["ecr:GetAuthorizationToken"], resources=["*"])
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="PullImageLayers",
            actions=[
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
            ],
            resources=[f"arn:{cdk_values.partition()}:ecr:{names.build_region}:*:repository/*"],
        )
    )
    log_groups = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name="/aws/sagemaker/*",
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="WriteJobLogs",
            actions=[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            resources=[log_groups, f"{log_groups}:log-stream:*"],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="PublishJobMetrics",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "SageMaker*"]}},
        )
    )
    region, account = names.build_region, names.build_account
    acknowledge(
        role,
        {
            **bucket_access(
                stack.artifacts_bucket_id,
                "Read/write on this group's artifacts bucket and key only.",
            ),
            "IAM5[Resource::*]": (
                "ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level "
                "permissions; metrics are limited to SageMaker namespaces by condition."
            ),
            f"IAM5[Resource::arn:<AWS::Partition>:ecr:{region}:*:repository/*]": (
                "Training and processing images live in AWS-owned and user repositories not known in "
                "advance; pulls only, in this region."
            ),
            f"IAM5[Resource::arn:aws:sagemaker:{region}:{account}:processing-job/*]": (
                "Job names are generated per pipeline execution; this account and region only."
            ),
            f"IAM5[Resource::arn:aws:sagemaker:{region}:{account}:training-job/*]": (
                "Job names are generated per pipeline execution; this account and region only."
            ),
            f"IAM5[Resource::arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/*]": (
                "SageMaker names its job log groups under /aws/sagemaker/ itself."
            ),
            f"IAM5[Resource::arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/*:log-stream:*]": (
                "SageMaker names one log stream per job instance."
            ),
            **registry_versions(names),
        },
    )
    return role


def _allow_pending_registrations(stack: BuildSupportStack, role: iam.Role, names: GroupNames) -> None:
    """Register versions awaiting a person's approval; never approve one (no UpdateModelPackage).

    The pipeline's jobs run repository code as this role; an approval would deploy everywhere. IAM can
    say so: ``sagemaker:ModelApprovalStatus`` is a condition key of CreateModelPackage (Service
    Authorization Reference, Amazon SageMaker AI); a request without the field has no key and is denied.
    """
    registry = [
        stack.format_arn(
            service="sagemaker", resource="model-package-group", resource_name=names.model_package_group
        ),
        stack.format_arn(
            service="sagemaker", resource="model-package", resource_name=f"{names.model_package_group}/*"
        ),
    ]
    role.add_to_policy(
        iam.PolicyStatement(
            sid="RegisterVersionsPendingApproval",
            actions=["sagemaker:CreateModelPackage"],
            resources=registry,
            conditions={"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}},
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="ReadRegistry",
            actions=[
                "sagemaker:DescribeModelPackage",
                "sagemaker:DescribeModelPackageGroup",
                "sagemaker:ListModelPackages",
                "sagemaker:AddTags",
            ],
            resources=registry,
        )
    )


def model_build_access_role(stack: BuildSupportStack, names: GroupNames, tooling: str) -> iam.Role:
    """Assumed by the tooling account's model build project (and nothing else) to run training."""
    project_role_arn = f"arn:{cdk_values.partition()}:iam::{tooling}:role/{names.model_build_project_role}"
    role = iam.Role(
        stack,
        "ModelBuildAccessRole",
        role_name=names.model_build_access_role,
        assumed_by=cdk_values.account_principal(tooling).with_conditions(
            {"ArnEquals": {"aws:PrincipalArn": project_role_arn}}
        ),
        description="Lets the tooling account's model build project run this group's SageMaker pipeline",
        max_session_duration=cdk_values.hours(1),
    )
    pipeline_arn = stack.format_arn(
        service="sagemaker", resource="pipeline", resource_name=names.sagemaker_pipeline
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="ManageTrainingPipeline",
            actions=[
                "sagemaker:CreatePipeline",
                "sagemaker:UpdatePipeline",
                "sagemaker:DescribePipeline",
                "sagemaker:StartPipelineExecution",
                "sagemaker:DescribePipelineExecution",
                "sagemaker:ListPipelineExecutionSteps",
                "sagemaker:AddTags",
                # The SDK's upsert reads a pipeline's tags to keep them when it updates it.
                "sagemaker:ListTags",
            ],
            resources=[pipeline_arn, f"{pipeline_arn}/*"],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="PassExecutionRoleToSageMaker",
            actions=["iam:PassRole"],
            resources=[stack.sagemaker_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
    )
    # Repository code runs as this role: it uploads the pipeline's job scripts, and reads nothing else.
    code = stack.artifacts_bucket.arn_for_objects(f"{PIPELINE_CODE_PREFIX}/*")
    role.add_to_policy(
        iam.PolicyStatement(
            sid="UploadPipelineCode", actions=["s3:PutObject", "s3:GetObject"], resources=[code]
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="EncryptPipelineCodeThroughS3",
            # Decrypt too: S3 needs it to assemble a multipart upload.
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resources=[stack.artifacts_key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{names.build_region}.amazonaws.com"}},
        )
    )
    stack.image_repository.grant_push(role)
    acknowledge(
        role,
        {
            f"IAM5[Resource::<{stack.artifacts_bucket_id}.Arn>/{PIPELINE_CODE_PREFIX}/*]": (
                "Job scripts under the pipeline-code prefix only, stored by content digest."
            ),
            f"IAM5[Resource::{sagemaker_arn(names)}:pipeline/{names.sagemaker_pipeline}/*]": (
                "Executions of this group's one SageMaker pipeline, whose ids are generated per run."
            ),
            "IAM5[Resource::*]": "ecr:GetAuthorizationToken has no resource-level permission.",
        },
    )
    return role
