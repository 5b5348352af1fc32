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

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from blocks import cdk_values
from blocks.governance import Governance, GovernedStack
from blocks.storage import access_logs_bucket, customer_managed_key, encrypted_bucket
from names import GroupNames
from settings import NO_APPROVED_MODEL, ApprovedModel, BuildEnvironmentSettings, DeployEnvironmentSettings
from stages.endpoint_guardrails import (
    VARIANT_NAME,
    RollbackAlarms,
    deployment_config,
    rollback_alarm_names,
    serverless_variant,
)
from stages.endpoint_network import endpoint_network
from stages.endpoint_role import DATA_CAPTURE_PREFIX, endpoint_execution_role
from stages.endpoint_scaling import VariantScaling
from stages.smoke_test import add_smoke_role

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


class EndpointStack(GovernedStack):
    """One group's endpoint in one deploy (or the build) account, in the build region."""

    endpoint_name_output: cdk.CfnOutput
    endpoint_config_name_output: cdk.CfnOutput

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
        self.endpoint_name = names.endpoint(
            environment.name, serverless=environment.endpoint.serverless is not None
        )
        if approved_model is None:
            # Never deployed: the deploy pipeline stops before this stage until a version is approved. Its
            # outputs exist all the same: the pipeline, built from this synth, reads them after the stage.
            cdk.CfnWaitConditionHandle(self, "NoApprovedModel")
            self._outputs(self.endpoint_name, NO_APPROVED_MODEL)
            return
        settings = environment.endpoint
        serverless = settings.serverless
        rollout = environment.rollout_plan(names.build_region)
        alarm_names = (*rollback_alarm_names(self.endpoint_name), *rollout.alarm_names)
        network = (
            endpoint_network(
                self,
                subnets_parameter=network_parameters[0],
                security_group_parameter=network_parameters[1],
                where=f"{environment.name} endpoint",
            )
            if settings.vpc and serverless is None
            else None
        )

        volume_key = serverless is None and not nvme_instance(settings.instance_type)
        capture = settings.data_capture_percentage > 0
        key = (
            customer_managed_key(
                self, "EndpointKey", description=f"Encrypts {self.endpoint_name}'s volumes and data"
            )
            if volume_key or capture
            else None
        )
        capture_bucket = self._data_capture_bucket(environment, key) if capture and key else None

        role = endpoint_execution_role(
            self,
            endpoint_name=self.endpoint_name,
            names=names,
            environment=environment,
            model=approved_model,
            network=network,
            capture_bucket=capture_bucket,
            key=key,
            alarm_names=alarm_names,
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
            enable_network_isolation=settings.network_isolation and serverless is None,
        )

        endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            kms_key_id=key.key_arn if key and volume_key else None,
            production_variants=[
                serverless_variant(
                    model_name=model.attr_model_name,
                    memory_size_in_mb=serverless.memory_size_in_mb,
                    max_concurrency=serverless.max_concurrency,
                    provisioned_concurrency=serverless.provisioned_concurrency,
                )
                if serverless
                else sagemaker.CfnEndpointConfig.ProductionVariantProperty(
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
        alarms = RollbackAlarms(
            self,
            "RollbackAlarms",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=endpoint_config.attr_endpoint_config_name,
            server_error_percent=settings.alarms.server_error_percent,
            latency_statistic=settings.alarms.latency_statistic,
            latency_threshold_ms=settings.alarms.latency_threshold_ms,
            evaluation_periods=settings.alarms.evaluation_periods,
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
            deployment_config=deployment_config(rollout=rollout, alarm_names=alarm_names),
        )
        alarms.watch(endpoint)
        scaling.around(endpoint)
        self._outputs(endpoint.attr_endpoint_name, endpoint_config.attr_endpoint_config_name)
        add_smoke_role(
            self,
            names=names,
            environment_name=environment.name,
            endpoint_name=self.endpoint_name,
            tooling_account=governance.tooling_account,
        )

    def _outputs(self, endpoint_name: str, endpoint_config_name: str) -> None:
        """What the deploy pipeline's smoke test reads: the same logical ids in the placeholder and after.

        The config is the one this update deployed; the endpoint serving another means a rollback.
        """
        self.endpoint_name_output = cdk.CfnOutput(
            self, "EndpointName", value=endpoint_name, description="SageMaker endpoint"
        )
        self.endpoint_config_name_output = cdk.CfnOutput(
            self,
            "EndpointConfigName",
            value=endpoint_config_name,
            description="The endpoint config this deployment created",
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
                    expiration=cdk_values.days(expiry),
                    noncurrent_version_expiration=cdk_values.days(1),
                    abort_incomplete_multipart_upload_after=cdk_values.days(1),
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
