"""Deploy accounts: one SageMaker endpoint per group and environment, serving the approved model version.

The deploy pipeline synthesizes this stack with the approved model it read from the group's SSM parameter
(``APPROVED_MODEL_INFO``). Before any model is approved the stack is a placeholder that the pipeline never
deploys.

Names. The endpoint's name is stable (:meth:`names.GroupNames.endpoint`), so callers never change it. The
SageMaker model and endpoint config get names CloudFormation generates: almost every property of both
forces a replacement, and a custom-named resource cannot be replaced under its own name. A new model
version, new variant settings, a subnet or security group value that changed in SSM, or a module upgrade
that changes any property each make a new model and config; the endpoint is updated in place to the new
config (SageMaker's blue/green update, no downtime), and CloudFormation deletes the old ones in its cleanup
phase. Same inputs, byte-identical template.

Auto scaling and instance type changes. The one variant is always ``AllTraffic``: deployment guardrails
(blue/green) need the same variant name in the old and the new config. SageMaker refuses an endpoint
update that changes the instance type of a variant registered with Application Auto Scaling (a new model
version it allows), so :class:`stages.endpoint_scaling.VariantScaling` owns registration and policy: it
deregisters before such an update and registers after it, a rollback included (its module doc says how).
With a scaler, ``RetainAllVariantProperties`` keeps the instance count it chose instead of resetting it to
the initial count on every update; the instance type is not a retained property (the retainable ones are
``DesiredInstanceCount``, ``DesiredWeight`` and ``DataCaptureConfig``: SageMaker API Reference,
"VariantProperty"), so a new type takes effect, as do the config's weights.

No assets: nothing here is uploaded (the scaling function's code is inline, no auto-delete custom
resource), so the deploy account needs only a bootstrap, and the template is the whole deployment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from names import MODEL_ARTIFACTS_PREFIX, GroupNames
from settings import ApprovedModel, BuildEnvironmentSettings, DeployEnvironmentSettings, SettingsError
from settings.errors import echo_value
from stages.endpoint_scaling import VariantScaling
from stages.governance import Governance, GovernedStack
from stages.nag import acknowledge, logical_id
from stages.storage import access_logs_bucket, customer_managed_key, encrypted_bucket

# Instance families with local NVMe instance storage. SageMaker encrypts those volumes with a hardware
# module on the instance and rejects a KmsKeyId for them: "You can't request a KmsKeyId when using an
# instance type with local storage ... the call to CreateEndpointConfig fails" (CreateEndpointConfig API
# reference, KmsKeyId). Which families those are is EC2's instance store table ("Instance store volume
# limits for EC2 instances"), here for the families SageMaker offers for hosting, training or processing.
# EBS-only families (m5, c5, r5, m6i, c7i, g5g, p2, p3, inf1, inf2, t2, ...) get the stack's key, and so does
# a family missing here: CreateEndpointConfig then fails before anything changes; add the family here.
# fmt: off
NVME_FAMILIES = frozenset({
    "m5d", "m6gd", "m6id", "m7gd",  # general purpose
    "c5d", "c6gd", "c6id", "c7gd",  # compute optimized
    "r5d", "r6gd", "r6id", "r7gd",  # memory optimized
    "i3en",  # storage optimized
    "g4dn", "g4ad", "g5", "g6", "g6e", "g7e",  # accelerated: G (NVIDIA, AMD)
    "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300", "p6e-gb200",  # accelerated: P
    "dl1", "trn1", "trn1n", "trn2",  # accelerated: Gaudi, Trainium (Inferentia is EBS-only)
})
# fmt: on
_INSTANCE_TYPE = re.compile(r"ml\.([a-z0-9-]+)\.[a-z0-9]+", re.ASCII)


def nvme_instance(instance_type: str) -> bool:
    """Whether ``instance_type`` (``ml.<family>.<size>``) has local NVMe storage, so takes no volume key."""
    match = _INSTANCE_TYPE.fullmatch(instance_type)
    if not match:
        raise ValueError(f"not a SageMaker instance type such as ml.m5.xlarge: {instance_type!r}")
    return match.group(1) in NVME_FAMILIES


DATA_CAPTURE_PREFIX = "data-capture"
VARIANT_NAME = "AllTraffic"
"""The endpoint's one production variant, whatever its instance type (see the module doc)."""


# What CDK returns for a context lookup it has not made yet; the CLI then looks it up and synthesizes again.
PENDING_LOOKUP_PREFIX = "dummy-value-for-"
MAX_ENDPOINT_SUBNETS = 16  # VpcConfig.Subnets: 1 to 16 items (SageMaker API Reference, VpcConfig)
_SUBNET_ID = re.compile(r"subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})", re.ASCII)
_SECURITY_GROUP_ID = re.compile(r"sg-(?:[0-9a-f]{8}|[0-9a-f]{17})", re.ASCII)


@dataclass(frozen=True)
class EndpointNetwork:
    """The subnets and security group an endpoint joins, as the environment's SSM parameters hold them."""

    subnets: tuple[str, ...]
    security_group: str


PENDING_NETWORK = EndpointNetwork(subnets=("subnet-00000000",), security_group="sg-00000000")


def endpoint_network(
    scope: Construct, *, subnets_parameter: str, security_group_parameter: str, where: str
) -> EndpointNetwork:
    """Read at synth through the target account's CDK lookup role, never at deploy time.

    An ``AWS::SSM::Parameter::Value`` template parameter is resolved with the caller's permissions, and the
    caller is the target account's CDK deploy role, which may read only the bootstrap version parameter
    (CloudFormation User Guide, "SSM parameter types"; the bootstrap template's DeploymentActionRole).
    A context lookup assumes the lookup role (ReadOnlyAccess) instead, and the deploy pipeline's synth
    never reuses a cached value, so a changed parameter changes the next run's template.
    """
    subnets_value = ssm.StringParameter.value_from_lookup(scope, subnets_parameter)
    security_group = ssm.StringParameter.value_from_lookup(scope, security_group_parameter)
    if subnets_value.startswith(PENDING_LOOKUP_PREFIX) or security_group.startswith(PENDING_LOOKUP_PREFIX):
        # Ids of the right shape until the CLI has the values, so validation in this pass stays quiet.
        return PENDING_NETWORK
    subnets = tuple(part.strip() for part in subnets_value.split(","))
    problems = []
    if not subnets or not all(_SUBNET_ID.fullmatch(subnet) for subnet in subnets):
        problems.append(
            f"{where}: the SSM parameter {subnets_parameter} must hold subnet ids separated by commas "
            f"(a StringList such as subnet-0abc1234,subnet-0def5678), got {echo_value(subnets_value)}"
        )
    if not _SECURITY_GROUP_ID.fullmatch(security_group):
        problems.append(
            f"{where}: the SSM parameter {security_group_parameter} must hold one security group id "
            f"such as sg-0abc1234, got {echo_value(security_group)}"
        )
    if len(subnets) > MAX_ENDPOINT_SUBNETS:
        problems.append(
            f"{where}: the SSM parameter {subnets_parameter} holds {len(subnets)} subnets; "
            f"SageMaker takes at most {MAX_ENDPOINT_SUBNETS}"
        )
    if problems:
        raise SettingsError(problems)
    return EndpointNetwork(subnets=tuple(sorted(set(subnets))), security_group=security_group)


class EndpointStack(GovernedStack):
    """One group's endpoint in one deploy (or the build) account, in the build region."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: cdk.Environment,
        governance: Governance,
        names: GroupNames,
        environment: DeployEnvironmentSettings | BuildEnvironmentSettings,
        network_parameters: tuple[str, str],
        approved_model: ApprovedModel | None,
        stack_name: str,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=env,
            governance=governance,
            stack_name=stack_name,
            description=f"SageMaker model CICD: {environment.name} endpoint of {names.prefix}",
        )
        if env.region != names.build_region:
            # Model packages are regional: SageMaker serves them only in the region that registered them.
            raise ValueError(
                f"an endpoint stack belongs in the build region {names.build_region}, not {env.region}"
            )
        self.endpoint_name = names.endpoint(environment.name)
        if approved_model is None:
            # Never deployed: the deploy pipeline stops before this stage until a version is approved.
            cdk.CfnWaitConditionHandle(self, "NoApprovedModel")
            return
        settings = environment.endpoint
        network = (
            endpoint_network(
                self,
                subnets_parameter=network_parameters[0],
                security_group_parameter=network_parameters[1],
                where=f"{environment.name} endpoint",
            )
            if settings.vpc
            else None
        )

        volume_key = not nvme_instance(settings.instance_type)
        capture = settings.data_capture_percentage > 0
        key = (
            customer_managed_key(
                self, "EndpointKey", description=f"Encrypts {self.endpoint_name}'s volumes and data"
            )
            if volume_key or capture
            else None
        )
        capture_bucket = self._data_capture_bucket(environment, key) if capture and key else None

        role = self._execution_role(
            names=names,
            environment=environment,
            model=approved_model,
            network=network,
            capture_bucket=capture_bucket,
            key=key,
        )
        model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=role.role_arn,
            containers=[
                sagemaker.CfnModel.ContainerDefinitionProperty(
                    model_package_name=approved_model.model_package_arn
                )
            ],
            vpc_config=(
                sagemaker.CfnModel.VpcConfigProperty(
                    security_group_ids=[network.security_group], subnets=list(network.subnets)
                )
                if network
                else None
            ),
            # The container makes no outbound call; SageMaker still fetches the artifact and image with the
            # execution role, and VpcConfig still applies (SageMaker Developer Guide, "Run Training and
            # Inference Containers in Internet-Free Mode").
            enable_network_isolation=settings.network_isolation,
        )

        endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            kms_key_id=key.key_arn if key and volume_key else None,
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT_NAME,
                    model_name=model.attr_model_name,
                    instance_type=settings.instance_type,
                    initial_instance_count=settings.initial_instance_count,
                    initial_variant_weight=1.0,
                )
            ],
            data_capture_config=(
                self._data_capture_config(capture_bucket, key, settings.data_capture_percentage)
                if capture_bucket and key
                else None
            ),
        )
        scaled = settings.auto_scaling is not None
        scaling = VariantScaling(
            self,
            "Scaling",
            endpoint_name=self.endpoint_name,
            variant_name=VARIANT_NAME,
            instance_type=settings.instance_type,
            auto_scaling=settings.auto_scaling,
        )
        endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=endpoint_config.attr_endpoint_config_name,
            # With a scaler, an update keeps the instance count it chose (not the initial count); weights
            # follow the new config. DataCaptureConfig is "not currently supported" as a retained property
            # (SageMaker API Reference, "VariantProperty"): data capture is the config's, not the variant's.
            retain_all_variant_properties=True if scaled else None,
            exclude_retained_variant_properties=(
                [sagemaker.CfnEndpoint.VariantPropertyProperty(variant_property_type="DesiredWeight")]
                if scaled
                else None
            ),
        )
        scaling.around(endpoint)
        cdk.CfnOutput(
            self, "EndpointName", value=endpoint.attr_endpoint_name, description="SageMaker endpoint"
        )

    def _data_capture_bucket(
        self, environment: DeployEnvironmentSettings | BuildEnvironmentSettings, key: kms.IKey
    ) -> s3.Bucket:
        """Where captured requests and responses go; retained in every environment, with its key.

        A bucket holding captures cannot be deleted, so deleting it would fail ``seedfarmer destroy``; an
        auto-delete custom resource would add a Lambda asset, which endpoint stacks never carry. Dev data
        expires instead (``dataCaptureExpiryDays``, 30 days by default), noncurrent versions too.
        """
        expiry = environment.data_capture_expiry_days
        logs = access_logs_bucket(self, "AccessLogsBucket")
        bucket = encrypted_bucket(
            self, "DataCaptureBucket", key=key, access_logs=logs, logs_prefix="data-capture/"
        )
        if expiry:
            for expiring in (bucket, logs):
                expiring.add_lifecycle_rule(
                    id="Expire",
                    expiration=cdk.Duration.days(expiry),
                    noncurrent_version_expiration=cdk.Duration.days(1),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
        return bucket

    @staticmethod
    def _data_capture_config(
        bucket: s3.IBucket, key: kms.IKey, percentage: int
    ) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty:
        return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=True,
            initial_sampling_percentage=percentage,
            destination_s3_uri=f"s3://{bucket.bucket_name}/{DATA_CAPTURE_PREFIX}",
            kms_key_id=key.key_arn,
            capture_options=[
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode=mode)
                for mode in ("Input", "Output")
            ],
        )

    def _execution_role(
        self,
        *,
        names: GroupNames,
        environment: DeployEnvironmentSettings | BuildEnvironmentSettings,
        model: ApprovedModel,
        network: EndpointNetwork | None,
        capture_bucket: s3.IBucket | None,
        key: kms.IKey | None,
    ) -> iam.Role:
        """What SageMaker does as the model: read its artefact, pull its image, log, and join the VPC."""
        partition, region, account = self.partition, self.region, self.account
        build = f"{names.build_region}:{names.build_account}"
        artifacts = f"arn:{partition}:s3:::{names.artifacts_bucket}/{MODEL_ARTIFACTS_PREFIX}"
        repository = f"arn:{partition}:ecr:{region}:{model.image_account}:repository/{model.image_repository}"
        log_group = (
            f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/{self.endpoint_name}"
        )
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
            iam.PolicyStatement(
                sid="AuthenticateToEcr", actions=["ecr:GetAuthorizationToken"], resources=["*"]
            ),
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
            f"{self.endpoint_name}:log-stream:*]": (
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
            findings[f"IAM5[Resource::<{logical_id(capture_bucket)}.Arn>/{DATA_CAPTURE_PREFIX}/*]"] = (
                "SageMaker writes captured requests and responses under keys it generates per hour and "
                "instance, below this stack's own data capture prefix; writes only."
            )
        role = iam.Role(
            self,
            "ModelExecutionRole",
            # Fixed: the build account grants it read of model artifacts and images by this name.
            role_name=names.endpoint_execution_role(environment.name),
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"Runs {self.endpoint_name}'s model: reads its artefact, pulls its image, logs",
            inline_policies={"ServeModel": iam.PolicyDocument(statements=statements)},
            max_session_duration=cdk.Duration.hours(1),
        )
        acknowledge(role, findings)
        return role
