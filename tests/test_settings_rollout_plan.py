"""settings/rollout_plan.py: an endpoint's rollout resolved from its settings: the defaults per environment
type, SageMaker's limits that need the instance count, the serverless exclusions, and where each problem is
located (the fields themselves: tests/test_settings_rollout.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from settings.rollout import (
    DEFAULT_WAIT_SECONDS,
    EXECUTION_MARGIN_SECONDS,
    MAX_EXECUTION_SECONDS,
    PROD_BAKE_SECONDS,
    AlarmSettings,
    Capacity,
    RolloutMode,
    RolloutSettings,
    ServerlessSettings,
)
from settings.rollout_plan import RolloutPlan, endpoint_rollout_problems, resolve_endpoint_rollout
from settings.rollout_problems import (
    SERVERLESS_REGIONS,
    Problem,
    serverless_region_problems,
)

REGION = "eu-west-1"


# --- resolution: defaults per environment type -----------------------------------------------------------


def plan(
    environment_type: str = "prod",
    *,
    instances: int = 1,
    minimum: int | None = None,
    rollout: dict[str, Any] | None = None,
    alarms: dict[str, Any] | None = None,
    serverless: dict[str, Any] | None = None,
    region: str = REGION,
    **endpoint: Any,
) -> RolloutPlan:
    return resolve_endpoint_rollout(
        environment_type=environment_type,
        region=region,
        instance_count=instances,
        minimum_instances=minimum,
        rollout=RolloutSettings.model_validate(rollout) if rollout is not None else None,
        alarms=AlarmSettings.model_validate(alarms or {}),
        serverless=ServerlessSettings.model_validate(serverless) if serverless is not None else None,
        **endpoint,
    )


def problems(*args: Any, **kwargs: Any) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as raised:
        plan(*args, **kwargs)
    return [(tuple(e["loc"]), e["msg"]) for e in raised.value.errors()]


def test_prod_with_two_instances_gets_a_canary_of_one() -> None:
    assert plan("prod", instances=2) == RolloutPlan(
        mode=RolloutMode.CANARY,
        canary_size=Capacity("instances", 1),
        linear_step_size=None,
        wait_seconds=DEFAULT_WAIT_SECONDS,
        bake_seconds=PROD_BAKE_SECONDS,
        maximum_execution_seconds=DEFAULT_WAIT_SECONDS + PROD_BAKE_SECONDS + EXECUTION_MARGIN_SECONDS,
        alarm_names=(),
    )


def test_prod_with_one_instance_gets_all_at_once_with_a_ten_minute_bake() -> None:
    resolved = plan("prod", instances=1)
    assert (resolved.mode, resolved.canary_size, resolved.wait_seconds) == (
        RolloutMode.ALL_AT_ONCE,
        None,
        None,
    )
    assert resolved.bake_seconds == 600
    assert resolved.maximum_execution_seconds == 600 + EXECUTION_MARGIN_SECONDS


def test_prod_counts_the_auto_scaling_minimum_not_the_initial_count() -> None:
    assert plan("prod", instances=4, minimum=1).mode is RolloutMode.ALL_AT_ONCE
    assert plan("prod", instances=1, minimum=2).mode is RolloutMode.CANARY


@pytest.mark.parametrize("environment_type", ["dev", "preprod"])
def test_other_environments_get_all_at_once_without_bake(environment_type: str) -> None:
    resolved = plan(environment_type, instances=6)
    assert (resolved.mode, resolved.bake_seconds, resolved.wait_seconds) == (RolloutMode.ALL_AT_ONCE, 0, None)
    assert resolved.maximum_execution_seconds == EXECUTION_MARGIN_SECONDS


def test_prod_serverless_gets_all_at_once_with_a_bake() -> None:
    resolved = plan("prod", serverless={})
    assert (resolved.mode, resolved.bake_seconds) == (RolloutMode.ALL_AT_ONCE, 600)


def test_given_fields_override_defaults_and_extra_alarms_pass_through() -> None:
    resolved = plan(
        "dev",
        instances=4,
        rollout={"mode": "canary", "canarySize": "25%", "waitSeconds": 120, "bakeSeconds": 60},
        alarms={"extraAlarmNames": ["team-alarm"]},
    )
    assert resolved.canary_size == Capacity("percent", 25)
    assert (resolved.wait_seconds, resolved.bake_seconds) == (120, 60)
    assert resolved.maximum_execution_seconds == 120 + 60 + EXECUTION_MARGIN_SECONDS
    assert resolved.alarm_names == ("team-alarm",)


def test_prod_bake_can_be_turned_off_and_mode_kept_default() -> None:
    resolved = plan("prod", instances=3, rollout={"bakeSeconds": 0})
    assert (resolved.mode, resolved.bake_seconds) == (RolloutMode.CANARY, 0)


def test_linear_waits_once_per_step() -> None:
    by_percent = plan("preprod", instances=4, rollout={"mode": "linear", "linearStepSize": "20%"})
    assert by_percent.maximum_execution_seconds == 5 * DEFAULT_WAIT_SECONDS + EXECUTION_MARGIN_SECONDS
    by_instances = plan("preprod", instances=10, rollout={"mode": "linear", "linearStepSize": 3})
    assert by_instances.maximum_execution_seconds == 4 * DEFAULT_WAIT_SECONDS + EXECUTION_MARGIN_SECONDS


def test_default_maximum_execution_is_capped_at_sagemakers_limit() -> None:
    resolved = plan(
        "dev", instances=10, rollout={"mode": "linear", "linearStepSize": "10%", "waitSeconds": 2879}
    )
    assert resolved.maximum_execution_seconds == MAX_EXECUTION_SECONDS


# --- resolution: limits that need the instance count -----------------------------------------------------


@pytest.mark.parametrize(("size", "fleet"), [(1, 2), (2, 4), (5, 10), ("50%", 2), ("1%", 2)])
def test_canary_up_to_half_the_fleet(size: object, fleet: int) -> None:
    assert (
        plan("prod", instances=fleet, rollout={"mode": "canary", "canarySize": size}).mode
        is RolloutMode.CANARY
    )


def test_canary_over_half_the_fleet_refused() -> None:
    assert problems("prod", instances=3, rollout={"canarySize": 2}) == [
        (
            ("rollout", "canarySize"),
            "2 instances is 67% of the variant's 3 instances (initialInstanceCount); "
            "SageMaker allows a canary of at most 50%",
        )
    ]


def test_canary_limit_uses_the_auto_scaling_minimum() -> None:
    ((loc, msg),) = problems("prod", instances=8, minimum=3, rollout={"canarySize": 2})
    assert loc == ("rollout", "canarySize")
    assert "of the variant's 3 instances (autoScaling.minCapacity)" in msg


@pytest.mark.parametrize("mode", ["canary", "linear"])
def test_shifting_part_of_the_traffic_needs_two_instances(mode: str) -> None:
    rollout: dict[str, Any] = {"mode": mode} | ({"linearStepSize": "50%"} if mode == "linear" else {})
    ((loc, msg),) = problems("dev", instances=1, rollout=rollout)
    assert loc == ("rollout", "linearStepSize" if mode == "linear" else "mode")
    assert f"a {mode} rollout needs at least 2 instances" in msg
    assert "use mode allAtOnce with bakeSeconds" in msg


@pytest.mark.parametrize(
    ("step", "fleet", "ok"), [(1, 10, True), (1, 11, False), (5, 10, True), (6, 10, False)]
)
def test_linear_steps_between_10_and_50_percent_of_the_fleet(step: int, fleet: int, ok: bool) -> None:
    rollout = {"mode": "linear", "linearStepSize": step}
    if ok:
        assert plan("dev", instances=fleet, rollout=rollout).linear_step_size == Capacity("instances", step)
    else:
        ((loc, msg),) = problems("dev", instances=fleet, rollout=rollout)
        assert loc == ("rollout", "linearStepSize")
        assert "SageMaker allows linear steps of 10-50%" in msg


def test_linear_needs_a_step_size() -> None:
    ((loc, msg),) = problems("dev", instances=4, rollout={"mode": "linear"})
    assert loc == ("rollout", "linearStepSize")
    assert msg.startswith("is required for mode linear")


def test_fields_of_another_mode_refused() -> None:
    assert problems(
        "dev", instances=4, rollout={"mode": "allAtOnce", "canarySize": 1, "waitSeconds": 60}
    ) == [
        (("rollout", "canarySize"), "is only for mode canary (mode is allAtOnce)"),
        (
            ("rollout", "waitSeconds"),
            "is only for modes canary and linear (mode is allAtOnce, one shift with nothing to wait "
            "between); bakeSeconds is the watch after it",
        ),
    ]
    assert problems("prod", instances=1, rollout={"linearStepSize": "20%"}) == [
        (("rollout", "linearStepSize"), "is only for mode linear (mode is allAtOnce by default)")
    ]


def test_maximum_execution_must_exceed_the_waits() -> None:
    rollout = {"mode": "canary", "waitSeconds": 600, "bakeSeconds": 600}
    assert (
        plan(
            "prod", instances=2, rollout={**rollout, "maximumExecutionSeconds": 1201}
        ).maximum_execution_seconds
        == 1201
    )
    ((loc, msg),) = problems("prod", instances=2, rollout={**rollout, "maximumExecutionSeconds": 1200})
    assert loc == ("rollout", "maximumExecutionSeconds")
    assert (
        "must be longer than the waits it covers, 1200 s (1 step x waitSeconds 600 + bakeSeconds 600)" in msg
    )


def test_waits_beyond_sagemakers_maximum_refused() -> None:
    ((loc, msg),) = problems(
        "dev", instances=10, rollout={"mode": "linear", "linearStepSize": "10%", "waitSeconds": 2880}
    )
    assert loc == ("rollout",)
    assert "the waits add up to 28800 s (10 steps x waitSeconds 2880 + bakeSeconds 0)" in msg
    assert "SageMaker ends an update after at most 28800 s" in msg


# --- resolution: serverless exclusions -------------------------------------------------------------------


def test_serverless_accepted_with_its_defaults() -> None:
    assert plan("dev", serverless={"memorySizeInMB": 4096}).mode is RolloutMode.ALL_AT_ONCE


@pytest.mark.parametrize(
    ("endpoint", "loc", "message"),
    [
        (
            {"fields_set": ["instanceType"]},
            ("instanceType",),
            "is for instance endpoints, not with serverless",
        ),
        ({"fields_set": ["initialInstanceCount"]}, ("initialInstanceCount",), "CPU only, no GPU"),
        ({"fields_set": ["autoScaling"]}, ("autoScaling",), "scales it by serverless.maxConcurrency"),
        ({"vpc": True}, ("vpc",), "must be false with serverless: serverless endpoints cannot join a VPC"),
        ({"fields_set": ["subnetIdsParameter"]}, ("subnetIdsParameter",), "cannot join a VPC"),
        ({"fields_set": ["securityGroupIdParameter"]}, ("securityGroupIdParameter",), "cannot join a VPC"),
        (
            {"network_isolation": True},
            ("networkIsolation",),
            "serverless endpoints offer no network isolation",
        ),
        ({"data_capture_percentage": 10}, ("dataCapturePercentage",), "SageMaker captures no data"),
        ({"fields_set": ["dataCaptureExpiryDays"]}, ("dataCaptureExpiryDays",), "is for data capture"),
    ],
)
def test_serverless_refuses_what_sagemaker_does_not_offer(
    endpoint: dict[str, Any], loc: tuple[str, ...], message: str
) -> None:
    ((found, msg),) = problems("dev", serverless={}, **endpoint)
    assert found == loc
    assert message in msg


@pytest.mark.parametrize("mode", ["canary", "linear"])
def test_serverless_refuses_traffic_shifting(mode: str) -> None:
    found = problems("dev", instances=4, serverless={}, rollout={"mode": mode})
    assert (
        ("rollout", "mode"),
        f"{mode} shifts traffic by shares of the new fleet's instances, which a "
        "serverless endpoint does not have: use allAtOnce",
    ) in found


def test_serverless_refused_where_not_offered() -> None:
    ((loc, msg),) = problems("dev", serverless={}, region="eu-south-2")
    assert loc == ("serverless",)
    assert msg.startswith(
        "SageMaker Serverless Inference is not offered in eu-south-2, the group's build region"
    )
    for region in sorted(SERVERLESS_REGIONS):
        assert plan("dev", serverless={}, region=region)


def test_serverless_reports_every_problem_at_once() -> None:
    found = problems(
        "dev",
        serverless={},
        region="il-central-1",
        vpc=True,
        network_isolation=True,
        fields_set=["instanceType"],
    )
    assert [loc for loc, _ in found] == [("instanceType",), ("vpc",), ("networkIsolation",), ("serverless",)]


def test_instance_endpoints_ignore_the_serverless_rules() -> None:
    assert plan("dev", region="eu-south-2", vpc=True, network_isolation=True, data_capture_percentage=50)


# --- several endpoints at once (the loader's lines: tests/test_settings_rollout.py) ---------------------


def test_problems_of_several_endpoints_are_returned_located() -> None:
    facts: dict[str, Any] = {
        "environment_type": "prod",
        "instance_count": 3,
        "minimum_instances": None,
        "alarms": AlarmSettings(),
        "serverless": None,
    }
    found = [
        *endpoint_rollout_problems(**facts, rollout=RolloutSettings(canary_size=2), prefix=("a", "endpoint")),
        *endpoint_rollout_problems(**facts, rollout=None, prefix=("b", "endpoint")),
        *endpoint_rollout_problems(**facts, rollout=RolloutSettings(mode=RolloutMode.LINEAR), prefix=("c",)),
    ]
    assert [p.loc for p in found] == [
        ("a", "endpoint", "rollout", "canarySize"),
        ("c", "rollout", "linearStepSize"),
    ]
    assert found[0] == Problem(found[0].loc, found[0].message, 2)


def test_without_a_region_serverless_is_not_checked_for_it() -> None:
    assert resolve_endpoint_rollout(
        environment_type="dev",
        instance_count=1,
        minimum_instances=None,
        rollout=None,
        alarms=AlarmSettings(),
        serverless=ServerlessSettings(),
    )
    assert serverless_region_problems(REGION, [("x",)]) == []
