"""An endpoint's rollout settings: how a new version reaches it, the alarms that roll it back, serverless.

The input contract of three endpoint settings (``rollout``, ``alarms``, ``serverless``), each field checked
against SageMaker's limits. What depends on the rest of the endpoint (instance counts, environment type,
region) is checked, and the defaults per environment type resolved, by :mod:`settings.rollout_plan`;
``stages/endpoint_guardrails.py`` turns the resolved plan into CloudFormation.

Every SageMaker update of an endpoint is blue/green: a new fleet comes up beside the old one and takes the
traffic (SageMaker Developer Guide, "Blue/Green Deployments"). The rollout decides how the traffic moves
(all at once, a canary first, or in linear steps), how long each step is watched, and how long the old fleet
is kept after the last step (the bake, ``TerminationWaitInSeconds``). During every wait and the bake both
fleets run, so the account needs twice the variant's instances of its type.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    PlainValidator,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    field_validator,
)

from settings.inputs import Input

# SageMaker's limits, each from the API reference page named beside it.
MAX_WAIT_SECONDS = 3600  # TrafficRoutingConfig.WaitIntervalInSeconds: 0-3600
MAX_BAKE_SECONDS = 3600  # BlueGreenUpdatePolicy.TerminationWaitInSeconds: 0-3600
MIN_EXECUTION_SECONDS = 600  # BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds: 600-28800, and
MAX_EXECUTION_SECONDS = 28_800  # "larger than the total waiting time" of the waits and the bake
MAX_ROLLBACK_ALARMS = 10  # AutoRollbackConfig.Alarms: 1-10 items
MAX_CANARY_PERCENT = 50  # TrafficRoutingConfig.CanarySize: at most 50 % of the variant's instance count
MIN_LINEAR_PERCENT, MAX_LINEAR_PERCENT = 10, 50  # TrafficRoutingConfig.LinearStepSize: 10-50 %
SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)  # ProductionVariantServerlessConfig
MAX_SERVERLESS_CONCURRENCY = 200  # ProductionVariantServerlessConfig.MaxConcurrency and Provisioned: 1-200
MAX_ALARM_NAME = 255  # SageMaker's Alarm.AlarmName and CloudWatch's AlarmName: 1-255 characters
MAX_MODEL_LATENCY_MS = 60_000  # InvokeEndpoint: a container must answer within 60 s

# The module's own choices.
GUARDRAIL_ALARMS = 2
"""Rollback alarms every endpoint stack creates (server errors, model latency): 8 of SageMaker's 10 remain."""
PROD_BAKE_SECONDS = 600
"""Prod keeps the old fleet ten minutes after the last traffic shift unless told otherwise."""
DEFAULT_WAIT_SECONDS = 600
"""How long a canary or a linear step is watched before the next shift, unless told otherwise."""
EXECUTION_MARGIN_SECONDS = 3600
"""Added to the waits for the default maximum duration: the new fleet must be provisioned first."""
PROD = "prod"


class RolloutMode(StrEnum):
    """How traffic moves from the old fleet to the new one (TrafficRoutingConfig.Type)."""

    ALL_AT_ONCE = "allAtOnce"
    CANARY = "canary"
    LINEAR = "linear"

    @property
    def sagemaker_type(self) -> str:
        return {"allAtOnce": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}[self.value]


@dataclass(frozen=True)
class Capacity:
    """A share of the new fleet: a number of instances, or a percentage of them (SageMaker's CapacitySize)."""

    unit: Literal["instances", "percent"]
    value: int

    @property
    def sagemaker_type(self) -> str:
        return "INSTANCE_COUNT" if self.unit == "instances" else "CAPACITY_PERCENT"

    def instances_of(self, fleet: int) -> float:
        """How many of ``fleet`` instances this share is."""
        return self.value if self.unit == "instances" else fleet * self.value / 100

    def __str__(self) -> str:
        return (
            f"{self.value} instance{'s' * (self.value != 1)}"
            if self.unit == "instances"
            else f"{self.value}%"
        )


_PERCENT = re.compile(r"\s*(\d{1,3})\s*%\s*", re.ASCII)
_CAPACITY_RULE = "must be a number of instances such as 1, or a percentage in quotes such as '25%'"


def _capacity(given: object) -> Capacity:
    if isinstance(given, Capacity):
        return given
    if isinstance(given, int) and not isinstance(given, bool):
        if given < 1:
            raise ValueError("must be at least 1 instance")
        return Capacity("instances", given)
    if isinstance(given, str) and (match := _PERCENT.fullmatch(given)):
        percent = int(match.group(1))
        if not 1 <= percent <= 100:
            raise ValueError("must be a percentage from 1% to 100%")
        return Capacity("percent", percent)
    raise ValueError(_CAPACITY_RULE)


CapacitySize = Annotated[Capacity, PlainValidator(_capacity)]


class RolloutSettings(Input):
    """How an approved version replaces the running one; omitted fields take their environment's defaults."""

    mode: RolloutMode | None = Field(
        None,
        description=(
            "allAtOnce, canary or linear. Default: prod a canary of one instance when the variant has at "
            "least two instances (initialInstanceCount, or autoScaling.minCapacity), else allAtOnce."
        ),
    )
    canary_size: CapacitySize | None = Field(
        None,
        description="canary only: the first share of the new fleet, at most half its instances. Default: 1.",
    )
    linear_step_size: CapacitySize | None = Field(
        None, description="linear only, required: the share each step adds, 10-50% of the instances."
    )
    wait_seconds: StrictInt | None = Field(
        None,
        ge=0,
        le=MAX_WAIT_SECONDS,
        description=f"canary and linear: seconds each step is watched. Default: {DEFAULT_WAIT_SECONDS}.",
    )
    bake_seconds: StrictInt | None = Field(
        None,
        ge=0,
        le=MAX_BAKE_SECONDS,
        description=(
            "Seconds the old fleet is kept, and the alarms watched, after the last shift. "
            f"Default: {PROD_BAKE_SECONDS} in prod, 0 elsewhere."
        ),
    )
    maximum_execution_seconds: StrictInt | None = Field(
        None,
        ge=MIN_EXECUTION_SECONDS,
        le=MAX_EXECUTION_SECONDS,
        description=(
            "Seconds after which SageMaker gives the update up and rolls back; longer than all waits and "
            f"the bake. Default: those plus {EXECUTION_MARGIN_SECONDS}, at most {MAX_EXECUTION_SECONDS}."
        ),
    )

    @field_validator("canary_size")
    @classmethod
    def _canary_share(cls, value: Capacity | None) -> Capacity | None:
        if value is not None and value.unit == "percent" and value.value > MAX_CANARY_PERCENT:
            raise ValueError(f"must be at most {MAX_CANARY_PERCENT}% of the new fleet (SageMaker's limit)")
        return value

    @field_validator("linear_step_size")
    @classmethod
    def _linear_share(cls, value: Capacity | None) -> Capacity | None:
        if value is None or value.unit != "percent":
            return value
        if not MIN_LINEAR_PERCENT <= value.value <= MAX_LINEAR_PERCENT:
            raise ValueError(
                f"must be {MIN_LINEAR_PERCENT}-{MAX_LINEAR_PERCENT}% of the new fleet (SageMaker's limit)"
            )
        return value


def _alarm_name(value: str) -> str:
    """An alarm name CloudWatch, SageMaker and an IAM grant by ARN all take as this one alarm.

    CloudWatch: 1-255 characters, no control characters; SageMaker: not blank; IAM: no wildcards.
    """
    if not value.strip():
        raise ValueError("must not be empty or blank")
    if len(value) > MAX_ALARM_NAME:
        raise ValueError(f"must be at most {MAX_ALARM_NAME} characters")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("must not contain control characters")
    if value != value.strip():
        raise ValueError("must not start or end with spaces")
    if "*" in value or "?" in value:
        raise ValueError(
            "must not contain '*' or '?': in the IAM grant that lets SageMaker read the alarm they would be "
            "wildcards matching other alarms"
        )
    return value


AlarmName = Annotated[str, AfterValidator(_alarm_name)]


class AlarmSettings(Input):
    """The endpoint's rollback alarms: what the module creates, and alarms the user already has."""

    server_error_percent: StrictFloat = Field(
        1.0,
        gt=0,
        le=100,
        description="Roll back when more than this share of the new fleet's invocations return a 5XX error.",
    )
    latency_percentile: StrictFloat = Field(
        99.0, gt=0, lt=100, description="The model latency percentile watched (99 watches p99)."
    )
    latency_threshold_ms: StrictInt = Field(
        1000,
        ge=1,
        le=MAX_MODEL_LATENCY_MS,
        description="Roll back when the new fleet's model latency at that percentile exceeds this.",
    )
    evaluation_periods: StrictInt = Field(
        3,
        ge=1,
        le=30,
        description="One-minute periods that must all breach before an alarm fires (and rolls back).",
    )
    extra_alarm_names: tuple[AlarmName, ...] = Field(
        (),
        description=(
            "Existing CloudWatch metric alarms in the endpoint's account and region that also roll back, "
            f"at most {MAX_ROLLBACK_ALARMS - GUARDRAIL_ALARMS}."
        ),
    )

    @field_validator("latency_percentile")
    @classmethod
    def _two_decimals(cls, value: float) -> float:
        # CloudWatch's extended statistics: p followed by a number with at most two decimals.
        if round(value, 2) != value:
            raise ValueError("must have at most two decimals, such as 99.9")
        return value

    @field_validator("extra_alarm_names")
    @classmethod
    def _names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        allowed = MAX_ROLLBACK_ALARMS - GUARDRAIL_ALARMS
        if len(names) > allowed:
            raise ValueError(
                f"{len(names)} names given, at most {allowed}: SageMaker watches at most "
                f"{MAX_ROLLBACK_ALARMS} rollback alarms and the module adds its own {GUARDRAIL_ALARMS}"
            )
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"names given twice: {', '.join(repeated)}")
        return names

    @property
    def latency_statistic(self) -> str:
        """The CloudWatch extended statistic, e.g. ``p99`` or ``p99.9``."""
        return f"p{self.latency_percentile:g}"


class ServerlessSettings(Input):
    """A serverless endpoint instead of instances: for dev, where cold starts are acceptable."""

    memory_size_in_mb: StrictInt = Field(
        2048,
        alias="memorySizeInMB",
        description=f"Memory (and with it CPU) per concurrent invocation: one of {SERVERLESS_MEMORY_SIZES}.",
    )
    max_concurrency: StrictInt = Field(
        5, ge=1, le=MAX_SERVERLESS_CONCURRENCY, description="Invocations served at once; more are throttled."
    )
    provisioned_concurrency: StrictInt | None = Field(
        None,
        ge=1,
        le=MAX_SERVERLESS_CONCURRENCY,
        description="Invocations kept warm (billed while idle); at most maxConcurrency. Default: none.",
    )

    @field_validator("memory_size_in_mb")
    @classmethod
    def _memory(cls, value: int) -> int:
        if value not in SERVERLESS_MEMORY_SIZES:
            sizes = ", ".join(str(size) for size in SERVERLESS_MEMORY_SIZES)
            raise ValueError(f"must be one of {sizes} (MB)")
        return value

    @field_validator("provisioned_concurrency")
    @classmethod
    def _within_maximum(cls, value: int | None, info: ValidationInfo) -> int | None:
        maximum = info.data.get("max_concurrency")
        if value is not None and maximum is not None and value > maximum:
            raise ValueError(f"must not exceed maxConcurrency ({maximum})")
        return value
