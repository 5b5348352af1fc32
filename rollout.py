"""How a new model version reaches one endpoint: traffic shifting, the alarms that roll it back, serverless.

The input contract of three endpoint settings (``rollout``, ``alarms``, ``serverless``), checked against
SageMaker's limits, and :func:`resolve_endpoint_rollout`, which checks what depends on the rest of the
endpoint (instance counts, environment type, region) and resolves the defaults per environment type into a
:class:`RolloutPlan` that ``stages/guardrails.py`` turns into CloudFormation.

Every SageMaker update of an endpoint is blue/green: a new fleet comes up beside the old one and takes the
traffic (SageMaker Developer Guide, "Blue/Green Deployments"). The rollout decides how the traffic moves
(all at once, a canary first, or in linear steps), how long each step is watched, and how long the old fleet
is kept after the last step (the bake, ``TerminationWaitInSeconds``). During every wait and the bake both
fleets run, so the account needs twice the variant's instances of its type.

Problems are reported where the user wrote them (``...endpoint.rollout.canarySize: ...``): problems that
need more than one field are raised as a :class:`pydantic.ValidationError` whose locations are relative to
the endpoint, which pydantic prefixes with the location of the model whose validator raised it, and which
``settings.py``'s formatting turns into one line each.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal, NotRequired, TypedDict, Unpack

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictFloat,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

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
# Regions the SageMaker Developer Guide lists under "Deploy models with Amazon SageMaker Serverless
# Inference" (21 of them). botocore's endpoint data cannot tell: it lists SageMaker, not this feature.
# fmt: off
SERVERLESS_REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "eu-south-1",
    "me-south-1", "sa-east-1",
})
# fmt: on

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


class _Input(BaseModel):
    """Manifest values: camelCase keys, unknown keys rejected; the configuration of ``settings._Input``.

    Mirrored, not imported: ``settings.py`` will import this module to declare these fields, and an import
    back would be a cycle. ``tests/test_rollout.py`` checks the two configurations stay equal.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, validate_by_name=True)


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


class RolloutSettings(_Input):
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


class AlarmSettings(_Input):
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


class ServerlessSettings(_Input):
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


# --- problems located where the user wrote them ----------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem at a location relative to the endpoint, e.g. ``("rollout", "canarySize")``."""

    loc: tuple[str | int, ...]
    message: str
    given: object = None


def _detail(loc: tuple[str | int, ...], message: str, given: object) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError("endpoint_rollout", message), loc=loc, input=given)


def raise_problems(problems: Sequence[Problem], *, prefix: tuple[str | int, ...] = ()) -> None:
    """Raise ``problems`` as one ValidationError, located at ``prefix`` + each problem's location.

    Raised inside a model validator, pydantic adds that model's own location in front, so
    ``settings.py`` reports ``deployment-groups[0].deployEnvironments[1].endpoint.rollout.canarySize: ...``.
    """
    if problems:
        raise ValidationError.from_exception_data(
            "endpoint", [_detail((*prefix, *p.loc), p.message, p.given) for p in problems]
        )


# --- resolution ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutPlan:
    """What ``AWS::SageMaker::Endpoint``'s DeploymentConfig says, every default resolved."""

    mode: RolloutMode
    canary_size: Capacity | None
    linear_step_size: Capacity | None
    wait_seconds: int | None
    """None for allAtOnce, which has one shift and no wait between steps."""
    bake_seconds: int
    maximum_execution_seconds: int
    alarm_names: tuple[str, ...]
    """The user's extra alarms; ``stages.guardrails`` puts the module's own before them."""


# Endpoint fields that mean instances, and so nothing on a serverless endpoint (settings' EndpointSettings).
_INSTANCE_FIELDS = ("instanceType", "initialInstanceCount", "autoScaling")
_SUBNET_FIELDS = ("subnetIdsParameter", "securityGroupIdParameter")


class EndpointFacts(TypedDict):
    """What a rollout depends on besides its own settings, as the endpoint's settings hold it.

    ``region`` is the group's build region, where the endpoint serves; without it (an environment's own
    validator does not know it) the region is left to :func:`serverless_region_problems`.
    ``instance_count`` is the variant's initial count and ``minimum_instances`` its auto scaling minimum
    (None without auto scaling): the smaller fleet SageMaker may shift is what the limits are checked
    against. ``fields_set`` names the endpoint fields the user wrote (camelCase: ``model_fields_set``
    through the aliases), so serverless refuses an explicit ``instanceType`` but not its default; ``vpc``
    and ``network_isolation`` are refused with serverless only when true.
    """

    environment_type: str
    region: NotRequired[str]
    instance_count: int
    minimum_instances: int | None
    rollout: RolloutSettings | None
    alarms: AlarmSettings
    serverless: ServerlessSettings | None
    fields_set: NotRequired[Collection[str]]
    vpc: NotRequired[bool]
    network_isolation: NotRequired[bool]
    data_capture_percentage: NotRequired[int]


def resolve_endpoint_rollout(
    *, prefix: tuple[str | int, ...] = (), **endpoint: Unpack[EndpointFacts]
) -> RolloutPlan:
    """Check the rollout against the rest of the endpoint and resolve its defaults; the one place for both.

    Raises a ValidationError located at ``prefix`` + the field (see :func:`raise_problems`).
    """
    plan, problems = _resolve(endpoint)
    raise_problems(problems, prefix=prefix)
    assert plan is not None  # no problems, so resolved
    return plan


def endpoint_rollout_problems(
    *, prefix: tuple[str | int, ...] = (), **endpoint: Unpack[EndpointFacts]
) -> list[Problem]:
    """What :func:`resolve_endpoint_rollout` would raise, to report several endpoints' problems at once."""
    _, problems = _resolve(endpoint)
    return [Problem((*prefix, *p.loc), p.message, p.given) for p in problems]


def _resolve(endpoint: EndpointFacts) -> tuple[RolloutPlan | None, list[Problem]]:
    rollout, serverless = endpoint["rollout"], endpoint["serverless"]
    minimum_instances, instance_count = endpoint["minimum_instances"], endpoint["instance_count"]
    problems: list[Problem] = []
    given = rollout or RolloutSettings()
    fleet = minimum_instances if minimum_instances is not None else instance_count
    fleet_source = "autoScaling.minCapacity" if minimum_instances is not None else "initialInstanceCount"
    if serverless is not None:
        problems += _serverless_problems(
            region=endpoint.get("region"),
            rollout=given,
            fields_set=endpoint.get("fields_set", ()),
            vpc=endpoint.get("vpc", False),
            network_isolation=endpoint.get("network_isolation", False),
            data_capture_percentage=endpoint.get("data_capture_percentage", 0),
        )
    prod = endpoint["environment_type"] == PROD
    mode = given.mode or (
        RolloutMode.CANARY if prod and serverless is None and fleet >= 2 else RolloutMode.ALL_AT_ONCE
    )
    problems += _mode_problems(given, mode)
    if serverless is None and mode is not RolloutMode.ALL_AT_ONCE:
        problems += _share_problems(given, mode, fleet, fleet_source)
    if problems:
        return None, problems

    canary = (given.canary_size or Capacity("instances", 1)) if mode is RolloutMode.CANARY else None
    step = given.linear_step_size if mode is RolloutMode.LINEAR else None
    wait = None if mode is RolloutMode.ALL_AT_ONCE else _or(given.wait_seconds, DEFAULT_WAIT_SECONDS)
    bake = _or(given.bake_seconds, PROD_BAKE_SECONDS if prod else 0)
    maximum, problems = _maximum_execution(given.maximum_execution_seconds, wait, bake, step, fleet)
    if problems:
        return None, problems
    return RolloutPlan(
        mode=mode,
        canary_size=canary,
        linear_step_size=step,
        wait_seconds=wait,
        bake_seconds=bake,
        maximum_execution_seconds=maximum,
        alarm_names=endpoint["alarms"].extra_alarm_names,
    ), []


def _maximum_execution(
    given: int | None, wait: int | None, bake: int, step: Capacity | None, fleet: int
) -> tuple[int, list[Problem]]:
    """The update's time limit: longer than every wait and the bake, as SageMaker requires."""
    steps = _steps(step, fleet) if step else 1
    waited = (wait or 0) * steps + bake
    what = f"{steps} step{'s' * (steps != 1)} x waitSeconds {wait or 0} + bakeSeconds {bake}"
    if given is not None:
        if given > waited:
            return given, []
        message = (
            f"must be longer than the waits it covers, {waited} s ({what}), plus the time the new fleet "
            "takes to start"
        )
        return given, [Problem(("rollout", "maximumExecutionSeconds"), message, given)]
    if waited >= MAX_EXECUTION_SECONDS:
        message = (
            f"the waits add up to {waited} s ({what}); SageMaker ends an update after at most "
            f"{MAX_EXECUTION_SECONDS} s: shorten waitSeconds or bakeSeconds, or take bigger steps"
        )
        return MAX_EXECUTION_SECONDS, [Problem(("rollout",), message)]
    return min(MAX_EXECUTION_SECONDS, max(MIN_EXECUTION_SECONDS, waited + EXECUTION_MARGIN_SECONDS)), []


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _steps(step: Capacity, fleet: int) -> int:
    """Traffic shifts of a linear rollout, each followed by a wait."""
    return math.ceil(100 / step.value) if step.unit == "percent" else math.ceil(fleet / step.value)


def _mode_problems(rollout: RolloutSettings, mode: RolloutMode) -> list[Problem]:
    """Fields that belong to another mode, and what a mode requires."""
    problems = []
    chosen = f"mode is {mode.value}" + ("" if rollout.mode else " by default")
    if rollout.canary_size is not None and mode is not RolloutMode.CANARY:
        problems.append(Problem(("rollout", "canarySize"), f"is only for mode canary ({chosen})"))
    if rollout.linear_step_size is not None and mode is not RolloutMode.LINEAR:
        problems.append(Problem(("rollout", "linearStepSize"), f"is only for mode linear ({chosen})"))
    if rollout.linear_step_size is None and mode is RolloutMode.LINEAR:
        problems.append(
            Problem(
                ("rollout", "linearStepSize"),
                "is required for mode linear: the share of the new fleet each step adds, "
                f"{MIN_LINEAR_PERCENT}-{MAX_LINEAR_PERCENT}% such as '25%', or a number of instances",
            )
        )
    if rollout.wait_seconds is not None and mode is RolloutMode.ALL_AT_ONCE:
        problems.append(
            Problem(
                ("rollout", "waitSeconds"),
                f"is only for modes canary and linear ({chosen}, one shift with nothing to wait between); "
                "bakeSeconds is the watch after it",
                rollout.wait_seconds,
            )
        )
    return problems


def _share_problems(rollout: RolloutSettings, mode: RolloutMode, fleet: int, source: str) -> list[Problem]:
    """SageMaker's limits on canary and linear shares, against the smallest fleet the variant may have."""
    field = "canarySize" if mode is RolloutMode.CANARY else "linearStepSize"
    where = ("rollout", field) if getattr(rollout, _snake(field)) is not None else ("rollout", "mode")
    if fleet < 2:
        return [
            Problem(
                where,
                f"a {mode.value} rollout needs at least 2 instances to shift part of the traffic; the "
                f"variant has {fleet} ({source}): use mode allAtOnce with bakeSeconds, or more instances",
            )
        ]
    size = rollout.canary_size if mode is RolloutMode.CANARY else rollout.linear_step_size
    if size is None or size.unit != "instances":
        return []  # percentages were checked on the field; the default canary of 1 fits 2 instances
    share = 100 * size.value / fleet
    if mode is RolloutMode.CANARY and share > MAX_CANARY_PERCENT:
        return [
            Problem(
                where,
                f"{size} is {share:.0f}% of the variant's {fleet} instances ({source}); SageMaker allows a "
                f"canary of at most {MAX_CANARY_PERCENT}%",
                size.value,
            )
        ]
    if mode is RolloutMode.LINEAR and not MIN_LINEAR_PERCENT <= share <= MAX_LINEAR_PERCENT:
        return [
            Problem(
                where,
                f"{size} is {share:.0f}% of the variant's {fleet} instances ({source}); SageMaker allows "
                f"linear steps of {MIN_LINEAR_PERCENT}-{MAX_LINEAR_PERCENT}%",
                size.value,
            )
        ]
    return []


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", camel).lower()


def _serverless_problems(
    *,
    region: str | None,
    rollout: RolloutSettings,
    fields_set: Collection[str],
    vpc: bool,
    network_isolation: bool,
    data_capture_percentage: int,
) -> list[Problem]:
    """What SageMaker does not offer serverless endpoints.

    SageMaker Developer Guide: "Deploy models with Amazon SageMaker Serverless Inference" (feature
    exclusions) and "Exclusions" of deployment guardrails.
    """
    problems = []
    for field in _INSTANCE_FIELDS:
        if field in fields_set:
            problems.append(
                Problem(
                    (field,),
                    "is for instance endpoints, not with serverless: SageMaker picks the compute of a "
                    "serverless endpoint (CPU only, no GPU) from serverless.memorySizeInMB and scales it "
                    "by serverless.maxConcurrency",
                )
            )
    if vpc:
        problems.append(
            Problem(("vpc",), "must be false with serverless: serverless endpoints cannot join a VPC", True)
        )
    problems += [
        Problem((field,), "is for VPC endpoints; serverless endpoints cannot join a VPC")
        for field in _SUBNET_FIELDS
        if field in fields_set
    ]
    if network_isolation:
        problems.append(
            Problem(
                ("networkIsolation",),
                "must be false with serverless: serverless endpoints offer no network isolation",
                True,
            )
        )
    if data_capture_percentage:
        problems.append(
            Problem(
                ("dataCapturePercentage",),
                "must be 0 with serverless: SageMaker captures no data from serverless endpoints",
                data_capture_percentage,
            )
        )
    if "dataCaptureExpiryDays" in fields_set:
        problems.append(Problem(("dataCaptureExpiryDays",), "is for data capture, which serverless lacks"))
    if rollout.mode in (RolloutMode.CANARY, RolloutMode.LINEAR):
        problems.append(
            Problem(
                ("rollout", "mode"),
                f"{rollout.mode.value} shifts traffic by shares of the new fleet's instances, which a "
                "serverless endpoint does not have: use allAtOnce",
                rollout.mode.value,
            )
        )
    if region is not None:
        problems += serverless_region_problems(region, [()])
    return problems


def serverless_region_problems(region: str, serverless_at: Sequence[tuple[str | int, ...]]) -> list[Problem]:
    """A problem at each serverless endpoint (``serverless_at``: where each is) if ``region`` lacks it."""
    if region in SERVERLESS_REGIONS:
        return []
    message = (
        f"SageMaker Serverless Inference is not offered in {region}, the group's build region "
        f"(offered in: {', '.join(sorted(SERVERLESS_REGIONS))})"
    )
    return [Problem((*where, "serverless"), message) for where in serverless_at]
