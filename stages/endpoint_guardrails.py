"""Deploy accounts: what makes an endpoint update safe, as parts the endpoint stack puts together.

The endpoint stack creates :class:`RollbackAlarms` beside its endpoint config, gives the endpoint
:func:`deployment_config` (blue/green traffic shifting, a bake, the alarms as auto-rollback alarms), lets its
model's execution role read those alarms (:func:`describe_alarms_statement`) and, for a serverless endpoint,
uses :func:`serverless_variant` instead of an instance variant. The rollout itself is resolved and checked
in :mod:`settings.rollout_plan`; nothing here reads settings.

Watching the new fleet only. SageMaker publishes the endpoint's invocation metrics with an
``EndpointConfigName`` dimension too, once the new fleet takes traffic ("Auto-Rollback Configuration and
Monitoring", SageMaker Developer Guide). The alarms watch the config being deployed, so errors of the old
fleet, say the incident the new version fixes, cannot roll the fix back. Their dimensions are literal names
plus the new config's name: the endpoint's name is fixed (``names.GroupNames.endpoint``), so nothing refers
to the endpoint itself, which lists the alarms and would make a cycle. The endpoint depends on the alarms
(:meth:`RollbackAlarms.watch`): they exist, and watch the new config, before SageMaker reads them.

After a rollback SageMaker returns the endpoint to ``InService`` on the old config and CloudFormation may
report success; the deploy pipeline's smoke step compares the endpoint's config with the stack's output.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from settings.rollout import MAX_ROLLBACK_ALARMS, Capacity, RolloutMode
from settings.rollout_plan import RolloutPlan

VARIANT_NAME = "AllTraffic"
"""The endpoint's one production variant, whatever its instance type or serverless: blue/green needs the same
variant name in the old and the new config (see ``stages/endpoint.py``)."""
NAMESPACE = "AWS/SageMaker"
PERIOD = cdk.Duration.minutes(1)
"""Invocation metrics are published per minute ("Amazon SageMaker AI metrics in Amazon CloudWatch")."""


def rollback_alarm_names(endpoint_name: str) -> tuple[str, str]:
    """The two alarms every endpoint gets, named from the endpoint: unique per account and region as it is."""
    return f"{endpoint_name}-rollback-5xx", f"{endpoint_name}-rollback-latency"


class RollbackAlarms(Construct):
    """The new fleet's server errors and model latency, alarmed; SageMaker rolls back when either fires."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        endpoint_config_name: str,
        server_error_percent: float,
        latency_statistic: str,
        latency_threshold_ms: int,
        evaluation_periods: int,
    ) -> None:
        super().__init__(scope, construct_id)
        errors_name, latency_name = rollback_alarm_names(endpoint_name)
        dimensions = {
            "EndpointName": endpoint_name,
            "VariantName": VARIANT_NAME,
            "EndpointConfigName": endpoint_config_name,
        }
        # Invocation5XXErrors is 1 for a 5XX response and 0 otherwise, so its average is the error rate.
        errors = cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name="Invocation5XXErrors",
            dimensions_map=dimensions,
            statistic="Average",
            period=PERIOD,
        )
        # ModelLatency is published in microseconds ("Amazon SageMaker AI metrics in Amazon CloudWatch").
        latency = cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name="ModelLatency",
            dimensions_map=dimensions,
            statistic=latency_statistic,
            period=PERIOD,
        )
        self.server_errors = self._alarm(
            "ServerErrors",
            metric=errors,
            name=errors_name,
            threshold=server_error_percent / 100,
            evaluation_periods=evaluation_periods,
            description=(
                f"More than {server_error_percent:g}% of {endpoint_name}'s invocations on the config being "
                "deployed returned 5XX: SageMaker rolls the update back"
            ),
        )
        self.model_latency = self._alarm(
            "ModelLatency",
            metric=latency,
            name=latency_name,
            threshold=latency_threshold_ms * 1000,
            evaluation_periods=evaluation_periods,
            description=(
                f"{endpoint_name}'s model latency ({latency_statistic}) on the config being deployed is over "
                f"{latency_threshold_ms} ms: SageMaker rolls the update back"
            ),
        )
        self.alarm_names: tuple[str, ...] = (errors_name, latency_name)
        """Literal names: the endpoint lists them without referring to the alarms' resources."""

    def watch(self, endpoint: sagemaker.CfnEndpoint) -> None:
        """Create or update the alarms before ``endpoint``, which lists them by name only.

        Without the dependency CloudFormation would update both at once, after the new config: SageMaker
        could read an alarm still watching the old config, or, on creation, one not there yet.
        """
        endpoint.node.add_dependency(self.server_errors, self.model_latency)

    def _alarm(
        self,
        construct_id: str,
        *,
        metric: cloudwatch.Metric,
        name: str,
        threshold: float,
        evaluation_periods: int,
        description: str,
    ) -> cloudwatch.Alarm:
        return metric.create_alarm(
            self,
            construct_id,
            alarm_name=name,
            alarm_description=description,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            # No invocations on the new fleet is no evidence against it: an idle canary must not roll back.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )


def _capacity(size: Capacity | None) -> sagemaker.CfnEndpoint.CapacitySizeProperty | None:
    if size is None:
        return None
    return sagemaker.CfnEndpoint.CapacitySizeProperty(type=size.sagemaker_type, value=size.value)


def deployment_config(
    *, rollout: RolloutPlan, alarm_names: Sequence[str]
) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
    """``AWS::SageMaker::Endpoint``'s DeploymentConfig: the resolved rollout, rolled back by ``alarm_names``.

    ``alarm_names`` are the module's alarms then the user's, at most ``MAX_ROLLBACK_ALARMS``
    (:mod:`settings.rollout` checks the user's count).
    """
    if not 1 <= len(alarm_names) <= MAX_ROLLBACK_ALARMS or len(set(alarm_names)) != len(alarm_names):
        raise ValueError(f"1-{MAX_ROLLBACK_ALARMS} distinct rollback alarm names, got {list(alarm_names)}")
    routing = sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
        type=rollout.mode.sagemaker_type,
        canary_size=_capacity(rollout.canary_size) if rollout.mode is RolloutMode.CANARY else None,
        linear_step_size=_capacity(rollout.linear_step_size) if rollout.mode is RolloutMode.LINEAR else None,
        wait_interval_in_seconds=rollout.wait_seconds,
    )
    return sagemaker.CfnEndpoint.DeploymentConfigProperty(
        blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
            traffic_routing_configuration=routing,
            termination_wait_in_seconds=rollout.bake_seconds,
            maximum_execution_timeout_in_seconds=rollout.maximum_execution_seconds,
        ),
        auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
            alarms=[sagemaker.CfnEndpoint.AlarmProperty(alarm_name=name) for name in alarm_names]
        ),
    )


def describe_alarms_statement(
    *, partition: str, region: str, account: str, alarm_names: Sequence[str]
) -> iam.PolicyStatement:
    """What the endpoint's execution role needs to let SageMaker read its rollback alarms.

    "Ensure that your IAM execution role has permission to perform the cloudwatch:DescribeAlarms action on
    the auto-rollback alarms you specify" (SageMaker Developer Guide, "Auto-Rollback Configuration and
    Monitoring"): the endpoint's only execution role is its model's. Scoped to the alarms by ARN, which
    suffices for metric alarms; a composite alarm is returned only to a caller allowed ``*`` (CloudWatch
    API Reference, DescribeAlarms), so extra alarms must be metric alarms.
    """
    return iam.PolicyStatement(
        sid="ReadRollbackAlarms",
        actions=["cloudwatch:DescribeAlarms"],
        resources=[f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}" for name in alarm_names],
    )


def serverless_variant(
    *,
    model_name: str,
    memory_size_in_mb: int,
    max_concurrency: int,
    provisioned_concurrency: int | None = None,
) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
    """The endpoint's one variant on serverless compute, named as the instance variant is.

    Its model takes no ``VpcConfig`` and no network isolation, its endpoint config no ``DataCaptureConfig``
    (SageMaker Developer Guide, "Deploy models with Amazon SageMaker Serverless Inference", feature
    exclusions; :mod:`settings.rollout_problems` refuses the settings) and no ``KmsKeyId``, which encrypts
    "the storage volume attached to the ML compute instance" (CreateEndpointConfig API reference), which
    serverless lacks.
    """
    return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
        variant_name=VARIANT_NAME,
        model_name=model_name,
        serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
            memory_size_in_mb=memory_size_in_mb,
            max_concurrency=max_concurrency,
            provisioned_concurrency=provisioned_concurrency,
        ),
    )
