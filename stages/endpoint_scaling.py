"""Deploy accounts: the endpoint variant's auto scaling, owned by one construct across endpoint updates.

SageMaker refuses to update an endpoint when the update changes the instance type of a variant registered
with Application Auto Scaling, or removes such a variant: deregister, update, register again (SageMaker
Developer Guide, "Update endpoints that use auto scaling",
https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html). Deregistering deletes the
target's scaling policies too, so a CloudFormation ``ScalableTarget``/``ScalingPolicy`` pair would drift;
and CloudFormation deletes what left the template only after the endpoint update. Two custom resources,
served by one inline function (``functions/scaling_registration``), own the registration instead:

- ``Custom::ScalingGuard`` (the endpoint depends on it): on an update that changes the instance type (or the
  variant, or turns scaling off) it deregisters *before* the endpoint update; on its first creation it
  deregisters whatever an older template registered for the endpoint.
- ``Custom::ScalingRegistration`` (depends on the endpoint): registers the target and its target-tracking
  policy *after* the endpoint update (idempotent; all or nothing, so a failure never leaves a target that
  would refuse the rollback), or deregisters when scaling is off.

A failed update rolls back in reverse dependency order, each updated custom resource getting an Update
back to its old properties (its ``OldResourceProperties`` are then the failed update's; CloudFormation
User Guide, "Update request for CloudFormation custom resources"): the registration first, which
deregisters when the instance type differs so that the endpoint's own rollback is not refused; then the
endpoint; then the guard, which registers the restored settings on the restored endpoint. Both read their
stack's status (``UPDATE_ROLLBACK_IN_PROGRESS``) to tell a rollback from an update. Both keep a constant
physical id, so CloudFormation never replaces one and then deletes the old copy, deregistering the new
registration. They exist whether or not scaling is on, so that turning it on or off is an update (which
rolls back in order) rather than a create or delete: CloudFormation removes new resources of a failed
update only after the rollback (stack status ``UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS``), too late
for the endpoint's.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from blocks import cdk_values
from blocks.lambda_functions import module_function
from blocks.nag import acknowledge
from settings import AutoScalingSettings

INVOCATIONS_METRIC = "SageMakerVariantInvocationsPerInstance"
SCALING_POLICY_NAME = "InvocationsPerInstance"
GUARD_TYPE = "Custom::ScalingGuard"
REGISTRATION_TYPE = "Custom::ScalingRegistration"
# Application Auto Scaling creates this role on the first registration, with the caller's permission
# (SageMaker Developer Guide, "Auto scaling prerequisites": iam:CreateServiceLinkedRole).
SCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
SCALING_SERVICE_ROLE = (
    f"aws-service-role/{SCALING_SERVICE}/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


class VariantScaling(Construct):
    """Registers one endpoint variant with Application Auto Scaling around every endpoint update."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        variant_name: str,
        instance_type: str,
        auto_scaling: AutoScalingSettings | None,
    ) -> None:
        super().__init__(scope, construct_id)
        function, role = module_function(
            self,
            "Function",
            folder="scaling_registration",
            inline=True,  # endpoint stacks publish no assets (see stages/endpoint.py)
            description=f"Registers {endpoint_name}'s variant for auto scaling around endpoint updates",
            timeout=cdk_values.minutes(2),
        )
        self._grant(role, endpoint_name)
        # Both see every setting, so any change updates both (a rollback too).
        properties: dict[str, object] = {
            "EndpointName": endpoint_name,
            "VariantName": variant_name,
            "InstanceType": instance_type,
        }
        if auto_scaling is not None:
            properties |= {
                "MinCapacity": auto_scaling.min_capacity,
                "MaxCapacity": auto_scaling.max_capacity,
                "TargetValue": auto_scaling.target_invocations_per_instance,
                "PolicyName": SCALING_POLICY_NAME,
                "MetricType": INVOCATIONS_METRIC,
            }
        token = function.function_arn
        self.guard = cdk.CustomResource(
            self, "Guard", service_token=token, resource_type=GUARD_TYPE, properties=properties
        )
        self.registration = cdk.CustomResource(
            self, "Registration", service_token=token, resource_type=REGISTRATION_TYPE, properties=properties
        )

    def around(self, endpoint: IConstruct) -> None:
        """The guard before ``endpoint``, the registration after it (and the reverse in a rollback)."""
        endpoint.node.add_dependency(self.guard)
        self.registration.node.add_dependency(endpoint)

    def _grant(self, role: iam.Role, endpoint_name: str) -> None:
        """What Application Auto Scaling requires of its caller for SageMaker variants, for this endpoint.

        Application Auto Scaling User Guide, "Identity-based policy examples": its own actions, and for
        SageMaker endpoints sagemaker:DescribeEndpoint, DescribeEndpointConfig,
        UpdateEndpointWeightsAndCapacities and cloudwatch:PutMetricAlarm, DescribeAlarms, DeleteAlarms.
        """
        stack = cdk.Stack.of(self)
        partition, region, account = stack.partition, stack.region, stack.account
        where = f"{region}:{account}"
        targets = f"arn:{partition}:application-autoscaling:{where}:scalable-target/*"
        configs = f"arn:{partition}:sagemaker:{where}:endpoint-config/*"
        # Target tracking names its alarms TargetTracking-<resource id>-AlarmHigh-<uuid> (and -AlarmLow-).
        alarms = f"arn:{partition}:cloudwatch:{where}:alarm:TargetTracking-endpoint/{endpoint_name}/variant/*"
        for statement in (
            iam.PolicyStatement(
                sid="ReadOwnStackStatus",
                actions=["cloudformation:DescribeStacks"],
                resources=[stack.stack_id],
            ),
            iam.PolicyStatement(
                sid="FindEndpointScalableTargets",
                actions=["application-autoscaling:DescribeScalableTargets"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="RegisterEndpointVariant",
                actions=[
                    "application-autoscaling:RegisterScalableTarget",
                    "application-autoscaling:PutScalingPolicy",
                    "application-autoscaling:DeregisterScalableTarget",
                ],
                resources=[targets],
            ),
            iam.PolicyStatement(
                sid="ScaleEndpointVariant",
                actions=["sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"],
                resources=[f"arn:{partition}:sagemaker:{where}:endpoint/{endpoint_name}"],
            ),
            iam.PolicyStatement(
                sid="DescribeEndpointConfigs",
                actions=["sagemaker:DescribeEndpointConfig"],
                resources=[configs],
            ),
            iam.PolicyStatement(
                sid="ManageTargetTrackingAlarms",
                actions=["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"],
                resources=[alarms],
            ),
            iam.PolicyStatement(
                sid="CreateScalingServiceLinkedRole",
                actions=["iam:CreateServiceLinkedRole"],
                resources=[f"arn:{partition}:iam::{account}:role/{SCALING_SERVICE_ROLE}"],
                conditions={"StringEquals": {"iam:AWSServiceName": SCALING_SERVICE}},
            ),
        ):
            role.add_to_policy(statement)
        acknowledge(
            role,
            {
                "IAM5[Resource::*]": "application-autoscaling:DescribeScalableTargets has no resource-level "
                "permission; it finds targets an older template registered for this endpoint.",
                f"IAM5[Resource::{targets}]": (
                    "Scalable target ARNs end in an id Application Auto Scaling generates; the function "
                    "names this endpoint's variant in every call (this account and region only)."
                ),
                f"IAM5[Resource::{configs}]": (
                    "The endpoint's config gets a CloudFormation-generated name (see stages/endpoint.py); "
                    "read-only, as Application Auto Scaling requires of its caller."
                ),
                f"IAM5[Resource::{alarms}]": (
                    "The alarms target tracking creates for this endpoint's variant, named with a uuid."
                ),
            },
        )
