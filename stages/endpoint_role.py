"""Deploy accounts: what SageMaker does as an endpoint's model, and nothing more."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from blocks import cdk_values
from blocks.nag import acknowledge, logical_id
from names import MODEL_ARTIFACTS_PREFIX, GroupNames
from settings import ApprovedModel, BuildEnvironmentSettings, DeployEnvironmentSettings
from stages.endpoint_guardrails import describe_alarms_statement
from stages.endpoint_network import EndpointNetwork

DATA_CAPTURE_PREFIX = "data-capture"
"""Where an endpoint's captured requests and responses go in its data capture bucket."""


def endpoint_execution_role(
    stack: cdk.Stack,
    *,
    endpoint_name: str,
    names: GroupNames,
    environment: DeployEnvironmentSettings | BuildEnvironmentSettings,
    model: ApprovedModel,
    network: EndpointNetwork | None,
    capture_bucket: s3.IBucket | None,
    key: kms.IKey | None,
    alarm_names: tuple[str, ...],
) -> iam.Role:
    """What SageMaker does as the model: read its artefact, pull its image, log, join the VPC.

    And read the endpoint's rollback alarms (``alarm_names``), which SageMaker does as this role.
    """
    partition, region, account = stack.partition, stack.region, stack.account
    build = f"{names.build_region}:{names.build_account}"
    artifacts = f"arn:{partition}:s3:::{names.artifacts_bucket}/{MODEL_ARTIFACTS_PREFIX}"
    repository = f"arn:{partition}:ecr:{region}:{model.image_account}:repository/{model.image_repository}"
    log_group = f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/{endpoint_name}"
    ec2 = f"arn:{partition}:ec2:{region}:{account}"
    statements = [
        iam.PolicyStatement(
            sid="ReadModelArtifacts",
            actions=["s3:GetObject"],
            resources=[f"{artifacts}/*"],
        ),
        iam.PolicyStatement(
            sid="DecryptModelArtifactsThroughS3",
            actions=["kms:Decrypt"],
            resources=[f"arn:{partition}:kms:{build}:key/*"],
            conditions={
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": names.artifacts_key_alias},
                "StringEquals": {"kms:ViaService": f"s3.{names.build_region}.amazonaws.com"},
            },
        ),
        iam.PolicyStatement(
            sid="DescribeApprovedModelPackage",
            actions=["sagemaker:DescribeModelPackage"],
            resources=[model.model_package_arn],
        ),
        iam.PolicyStatement(sid="AuthenticateToEcr", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
        iam.PolicyStatement(
            sid="PullModelImage",
            actions=[
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
            ],
            resources=[repository],
        ),
        iam.PolicyStatement(
            sid="WriteEndpointLogs",
            actions=[
                "logs:CreateLogGroup",
                "logs:DescribeLogStreams",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            resources=[log_group, f"{log_group}:log-stream:*"],
        ),
        iam.PolicyStatement(
            sid="PublishEndpointMetrics",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/Endpoints*"]}},
        ),
        describe_alarms_statement(
            partition=partition, region=region, account=account, alarm_names=alarm_names
        ),
    ]
    findings: dict[str, str] = {
        "IAM5[Resource::*]": (
            "ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level permissions; "
            "metrics are limited to SageMaker's endpoint namespace by condition."
        ),
        f"IAM5[Resource::arn:{partition}:s3:::{names.artifacts_bucket}/{MODEL_ARTIFACTS_PREFIX}/*]": (
            "Read-only on the model artifacts prefix of this group's one artifacts bucket: model "
            "versions are stored under keys generated per training run."
        ),
        f"IAM5[Resource::arn:{partition}:kms:{build}:key/*]": (
            "Decrypt only the key carrying this group's artifacts key alias (kms:ResourceAliases), and "
            "only through S3 in the build region (kms:ViaService); its key id is unknown in this account."
        ),
        f"IAM5[Resource::arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/"
        f"{endpoint_name}:log-stream:*]": (
            "SageMaker writes one log stream per endpoint instance into this endpoint's own log group."
        ),
    }
    if network is not None:
        statements += [
            iam.PolicyStatement(
                sid="CreateEndpointNetworkInterfaces",
                actions=["ec2:CreateNetworkInterface"],
                resources=[
                    f"{ec2}:network-interface/*",
                    *(f"{ec2}:subnet/{subnet}" for subnet in network.subnets),
                    f"{ec2}:security-group/{network.security_group}",
                ],
            ),
            iam.PolicyStatement(
                sid="ManageEndpointNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                resources=[f"{ec2}:network-interface/*"],
            ),
            iam.PolicyStatement(
                sid="DescribeEndpointNetwork",
                actions=[
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                resources=["*"],
            ),
        ]
        findings["IAM5[Resource::*]"] += (
            " The ec2:Describe* calls SageMaker makes to place the endpoint in the VPC have none either."
        )
        findings[f"IAM5[Resource::arn:{partition}:ec2:{region}:{account}:network-interface/*]"] = (
            "SageMaker creates and deletes the endpoint's network interfaces, whose ids are generated, "
            "in this account and region; creation is limited to the environment's subnets and "
            "security group."
        )
    if capture_bucket is not None and key is not None:
        statements += [
            iam.PolicyStatement(
                sid="WriteDataCapture",
                actions=["s3:PutObject"],
                resources=[capture_bucket.arn_for_objects(f"{DATA_CAPTURE_PREFIX}/*")],
            ),
            iam.PolicyStatement(
                sid="EncryptDataCapture",
                actions=["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"],
                resources=[key.key_arn],
            ),
        ]
        findings[f"IAM5[Resource::<{logical_id(capture_bucket, stack)}.Arn>/{DATA_CAPTURE_PREFIX}/*]"] = (
            "SageMaker writes captured requests and responses under keys it generates per hour and "
            "instance, below this stack's own data capture prefix; writes only."
        )
    role = iam.Role(
        stack,
        "ModelExecutionRole",
        # Fixed: the build account grants it read of model artifacts and images by this name.
        role_name=names.endpoint_execution_role(environment.name),
        assumed_by=cdk_values.service_principal("sagemaker.amazonaws.com"),
        description=f"Runs {endpoint_name}'s model: reads its artefact, pulls its image, logs",
        inline_policies={"ServeModel": iam.PolicyDocument(statements=statements)},
        max_session_duration=cdk_values.hours(1),
    )
    acknowledge(role, findings)
    return role
