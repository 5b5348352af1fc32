"""How one environment serves the approved model: instances, scaling, capture, network, rollout."""

from __future__ import annotations

from pydantic import Field, StrictBool, StrictInt, model_validator

from settings.fields import InstanceType, SsmParameterName
from settings.inputs import Input
from settings.rollout import AlarmSettings, RolloutSettings, ServerlessSettings

DEV_DATA_CAPTURE_EXPIRY_DAYS = 30
"""How long an environment that keeps no data keeps captured requests, unless it says otherwise."""


class AutoScalingSettings(Input):
    """Target tracking on invocations per instance."""

    min_capacity: StrictInt = Field(ge=1, le=100, description="Instances the scaler keeps at least.")
    max_capacity: StrictInt = Field(ge=1, le=100, description="Instances the scaler adds at most.")
    target_invocations_per_instance: StrictInt = Field(
        ge=1, le=100_000, description="Invocations per instance and minute the scaler tracks."
    )

    @model_validator(mode="after")
    def _min_not_above_max(self) -> AutoScalingSettings:
        if self.min_capacity > self.max_capacity:
            raise ValueError(
                f"minCapacity ({self.min_capacity}) must not exceed maxCapacity ({self.max_capacity})"
            )
        return self


class EndpointSettings(Input):
    """How one environment serves the approved model."""

    instance_type: InstanceType = Field("ml.m5.xlarge", description="The variant's instance type.")
    initial_instance_count: StrictInt = Field(1, ge=1, le=100, description="Instances at first deploy.")
    auto_scaling: AutoScalingSettings | None = Field(None, description="Target tracking; none: fixed count.")
    data_capture_percentage: StrictInt = Field(
        0, ge=0, le=100, description="Percent of requests and responses captured to S3; 0: no capture."
    )
    data_capture_expiry_days: StrictInt | None = Field(
        None,
        ge=1,
        le=36500,
        description=(
            "Captured data (and its noncurrent versions) expire after this many days; unless given, "
            f"{DEV_DATA_CAPTURE_EXPIRY_DAYS} where data is not kept (dev), never elsewhere."
        ),
    )
    vpc: StrictBool = Field(True, description="The model runs in the target account's VPC.")
    network_isolation: StrictBool = Field(
        True,
        description="The container gets no network access; off for one fetching code or packages at start.",
    )
    subnet_ids_parameter: SsmParameterName | None = Field(
        None, description="SSM parameter holding the subnet ids; default /<project>/vpc/subnets/private/ids."
    )
    security_group_id_parameter: SsmParameterName | None = Field(
        None, description="SSM parameter holding the security group id; default /<project>/vpc/sg/id."
    )
    rollout: RolloutSettings | None = Field(
        None, description="How an approved version replaces the running one; defaults per environment type."
    )
    alarms: AlarmSettings = Field(
        AlarmSettings(), description="The rollback alarms' thresholds, and up to 8 alarms of your own."
    )
    serverless: ServerlessSettings | None = Field(
        None, description="Serve on SageMaker Serverless Inference instead of instances (for dev)."
    )
    # A real-time XGBoost endpoint answers a few CSV rows in tens of milliseconds; the step adds the network.
    # At most 60 s: a container must answer InvokeEndpoint within that (SageMaker API Reference).
    smoke_test_max_latency_ms: StrictInt = Field(
        2_000,
        ge=1,
        le=60_000,
        description="The smoke test after each deploy fails a sample request answered more slowly (ms).",
    )

    def network_parameters(self, project_name: str) -> tuple[str, str]:
        """The SSM parameters holding the endpoint's subnet ids and security group id.

        Unless given, those an AWS networking module of the same seedfarmer project writes by convention.
        """
        return (
            self.subnet_ids_parameter or f"/{project_name}/vpc/subnets/private/ids",
            self.security_group_id_parameter or f"/{project_name}/vpc/sg/id",
        )
