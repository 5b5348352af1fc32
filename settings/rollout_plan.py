"""An endpoint's rollout checked against the rest of the endpoint, and resolved into a :class:`RolloutPlan`.

:func:`resolve_endpoint_rollout` is the one place that checks what depends on the endpoint's instances,
environment type and region, and resolves the defaults per environment type (prod: a canary of one instance
when the variant has at least two, else all at once; a ten-minute bake).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, NotRequired, TypedDict, Unpack

from pydantic.alias_generators import to_camel

from settings.rollout import (
    DEFAULT_WAIT_SECONDS,
    EXECUTION_MARGIN_SECONDS,
    MAX_CANARY_PERCENT,
    MAX_EXECUTION_SECONDS,
    MAX_LINEAR_PERCENT,
    MIN_EXECUTION_SECONDS,
    MIN_LINEAR_PERCENT,
    PROD,
    PROD_BAKE_SECONDS,
    AlarmSettings,
    Capacity,
    RolloutMode,
    RolloutSettings,
    ServerlessSettings,
)
from settings.rollout_problems import Problem, raise_problems, serverless_problems

if TYPE_CHECKING:  # settings.endpoint declares the endpoint with this module's types
    from settings.endpoint import EndpointSettings


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
    """The user's extra alarms; ``stages.endpoint`` puts the module's own before them."""


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


def endpoint_facts(endpoint: EndpointSettings, environment_type: str) -> EndpointFacts:
    """What the rollout is checked against: the rest of the endpoint, as the user wrote it."""
    given = endpoint.model_fields_set
    return EndpointFacts(
        environment_type=environment_type,
        instance_count=endpoint.initial_instance_count,
        minimum_instances=endpoint.auto_scaling.min_capacity if endpoint.auto_scaling else None,
        rollout=endpoint.rollout,
        alarms=endpoint.alarms,
        serverless=endpoint.serverless,
        fields_set={to_camel(field) for field in given},
        vpc=endpoint.vpc and "vpc" in given,
        network_isolation=endpoint.network_isolation and "network_isolation" in given,
        data_capture_percentage=endpoint.data_capture_percentage,
    )


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
        problems += serverless_problems(
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
