"""settings/rollout.py: every rollout, alarm and serverless field good and bad, SageMaker's limits at their
edges; and the rollout settings as the loader reads them: lines in the user's path and spelling, the group's
region, the places a misplaced key belongs, and the plan an environment resolves (the resolution's rules:
tests/test_settings_rollout_plan.py)."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from settings import DeployEnvironmentSettings, load_settings
from settings.rollout import AlarmSettings, Capacity, RolloutMode, RolloutSettings, ServerlessSettings
from tests.settings_harness import (  # noqa: F401 - the autouse fixture "env"
    PARAMETERS,
    edit,
    problems,
    readme_example_environment,
)

PROD_ENV = "deployment-groups[1].deployEnvironments[1]"  # type prod in the README example
DEV_ENV = "deployment-groups[0].deployEnvironments[0]"


def test_error_lines_name_the_users_path_and_spelling(env: pytest.MonkeyPatch) -> None:
    edit(env, f"{PROD_ENV}.endpoint", {"initialInstanceCount": 3, "rollout": {"canarySize": 2}})
    assert problems() == [
        f"{PROD_ENV}.endpoint.rollout.canarySize: 2 instances is 67% of the variant's 3 instances "
        "(initialInstanceCount); SageMaker allows a canary of at most 50%, got 2"
    ]


@pytest.mark.parametrize(
    ("endpoint", "line"),
    [
        ({"rollout": {"bakeSeconds": 3601}}, "rollout.bakeSeconds: must be at most 3600, got 3601"),
        ({"alarms": {"latencyThresholdMs": 0}}, "alarms.latencyThresholdMs: must be at least 1, got 0"),
        (
            {"serverless": {"memorySizeInMB": 1000}},
            "serverless.memorySizeInMB: must be one of 1024, 2048, 3072, 4096, 5120, 6144 (MB), got 1000",
        ),
        (
            {"alarms": {"extraAlarmNames": ["ok", " bad"]}},
            "alarms.extraAlarmNames[1]: must not start or end with spaces, got ' bad'",
        ),
        (
            {"vpc": True, "serverless": {}},
            "vpc: must be false with serverless: serverless endpoints cannot join a VPC, got True",
        ),
    ],
)
def test_bad_fields_are_one_line_each(env: pytest.MonkeyPatch, endpoint: dict[str, Any], line: str) -> None:
    edit(env, f"{DEV_ENV}.endpoint", endpoint)
    assert problems() == [f"{DEV_ENV}.endpoint.{line}"]


def test_serverless_in_a_region_without_it(env: pytest.MonkeyPatch) -> None:
    group = copy.deepcopy(PARAMETERS["deployment-groups"][0])
    group["buildEnvironment"]["region"] = "eu-south-2"
    group["deployEnvironments"][0]["endpoint"] = {"serverless": {}}
    edit(env, "deployment-groups[0]", group)
    (line,) = problems()
    assert line.startswith(
        f"{DEV_ENV}.endpoint.serverless: SageMaker Serverless Inference is not offered in eu-south-2, "
        "the group's build region (offered in: af-south-1, "
    )


def test_a_misplaced_key_says_where_it_belongs(env: pytest.MonkeyPatch) -> None:
    edit(env, f"{DEV_ENV}.endpoint", {"bakeSeconds": 0, "memorySizeInMB": 2048})
    assert problems() == [
        f"{DEV_ENV}.endpoint.bakeSeconds: not a key here: it belongs in endpoint.rollout",
        f"{DEV_ENV}.endpoint.memorySizeInMB: not a key here: it belongs in endpoint.serverless",
    ]


def test_the_readme_example_loads_and_resolves_each_environments_plan() -> None:
    assert load_settings(os.environ)
    environments = [g["deployEnvironments"] for g in PARAMETERS["deployment-groups"]]
    prod = DeployEnvironmentSettings.model_validate(
        environments[1][1] | {"endpoint": {"initialInstanceCount": 2}}
    )
    plan = prod.rollout_plan("us-east-1")
    assert (plan.mode, plan.canary_size, plan.bake_seconds) == (
        RolloutMode.CANARY,
        Capacity("instances", 1),
        600,
    )
    dev = DeployEnvironmentSettings.model_validate(environments[0][0]).rollout_plan("us-east-1")
    assert (dev.mode, dev.bake_seconds) == (RolloutMode.ALL_AT_ONCE, 0)


def errors(model: type[BaseModel], value: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(value)
    return [(tuple(e["loc"]), e["msg"]) for e in raised.value.errors()]


# --- rollout fields --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (1, Capacity("instances", 1)),
        (40, Capacity("instances", 40)),
        ("25%", Capacity("percent", 25)),
        (" 50 % ", Capacity("percent", 50)),
        ("1%", Capacity("percent", 1)),
    ],
)
def test_canary_size_is_instances_or_a_percentage(given: object, expected: Capacity) -> None:
    assert RolloutSettings.model_validate({"canarySize": given}).canary_size == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (0, "must be at least 1 instance"),
        (-1, "must be at least 1 instance"),
        ("0%", "must be a percentage from 1% to 100%"),
        ("51%", "must be at most 50% of the new fleet (SageMaker's limit)"),
        ("25", "must be a number of instances such as 1, or a percentage in quotes such as '25%'"),
        (1.5, "must be a number of instances such as 1"),
        (True, "must be a number of instances such as 1"),
        ("25 percent", "must be a number of instances such as 1"),
    ],
)
def test_canary_size_refused(given: object, message: str) -> None:
    ((loc, msg),) = errors(RolloutSettings, {"canarySize": given})
    assert loc == ("canarySize",)
    assert message in msg


@pytest.mark.parametrize("given", ["10%", "50%", 1, 7])
def test_linear_step_size_accepted(given: object) -> None:
    assert RolloutSettings.model_validate({"linearStepSize": given}).linear_step_size is not None


@pytest.mark.parametrize("given", ["9%", "51%", "100%"])
def test_linear_step_percent_refused_outside_10_to_50(given: str) -> None:
    ((loc, msg),) = errors(RolloutSettings, {"linearStepSize": given})
    assert loc == ("linearStepSize",)
    assert "must be 10-50% of the new fleet (SageMaker's limit)" in msg


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [
        ("waitSeconds", 0, 3600),
        ("bakeSeconds", 0, 3600),
        ("maximumExecutionSeconds", 600, 28_800),
    ],
)
def test_durations_at_their_edges(field: str, low: int, high: int) -> None:
    for good in (low, high):
        assert RolloutSettings.model_validate({field: good})
    assert errors(RolloutSettings, {field: low - 1}) == [
        ((field,), f"Input should be greater than or equal to {low}")
    ]
    assert errors(RolloutSettings, {field: high + 1}) == [
        ((field,), f"Input should be less than or equal to {high}")
    ]


@pytest.mark.parametrize("field", ["waitSeconds", "bakeSeconds", "maximumExecutionSeconds"])
@pytest.mark.parametrize("given", ["600", 600.0, True])
def test_durations_are_whole_numbers_not_text(field: str, given: object) -> None:
    ((loc, _),) = errors(RolloutSettings, {field: given})
    assert loc == (field,)


def test_mode_names() -> None:
    for mode in ("allAtOnce", "canary", "linear"):
        assert RolloutSettings.model_validate({"mode": mode}).mode == RolloutMode(mode)
    ((loc, msg),) = errors(RolloutSettings, {"mode": "rolling"})
    assert loc == ("mode",)
    assert "'allAtOnce', 'canary' or 'linear'" in msg


def test_unknown_keys_refused() -> None:
    assert errors(RolloutSettings, {"bake": 60}) == [(("bake",), "Extra inputs are not permitted")]
    assert errors(AlarmSettings, {"alarmNames": []}) == [(("alarmNames",), "Extra inputs are not permitted")]


# --- alarm fields ----------------------------------------------------------------------------------------


def test_alarm_defaults() -> None:
    alarms = AlarmSettings()
    assert (alarms.server_error_percent, alarms.latency_statistic, alarms.latency_threshold_ms) == (
        1,
        "p99",
        1000,
    )
    assert (alarms.evaluation_periods, alarms.extra_alarm_names) == (3, ())


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("serverErrorPercent", [0.01, 1, 100], [0, -1, 100.5, "1", True]),
        ("latencyPercentile", [50, 99.9, 99.99, 0.5], [0, 100, 99.999, "99"]),
        ("latencyThresholdMs", [1, 60_000], [0, 60_001, 1.5, "100"]),
        ("evaluationPeriods", [1, 30], [0, 31, 2.0]),
    ],
)
def test_alarm_numbers_at_their_edges(field: str, good: list[object], bad: list[object]) -> None:
    for value in good:
        assert AlarmSettings.model_validate({field: value})
    for value in bad:
        ((loc, _),) = errors(AlarmSettings, {field: value})
        assert loc == (field,), value


def test_latency_statistic_keeps_decimals() -> None:
    assert AlarmSettings(latency_percentile=99.9).latency_statistic == "p99.9"
    assert AlarmSettings(latency_percentile=95).latency_statistic == "p95"
    assert "at most two decimals" in errors(AlarmSettings, {"latencyPercentile": 99.999})[0][1]


def test_extra_alarm_names_fill_up_to_ten_rollback_alarms() -> None:
    eight = [f"team-alarm-{i}" for i in range(8)]
    assert AlarmSettings.model_validate({"extraAlarmNames": eight}).extra_alarm_names == tuple(eight)
    ((loc, msg),) = errors(AlarmSettings, {"extraAlarmNames": [*eight, "ninth"]})
    assert loc == ("extraAlarmNames",)
    assert "9 names given, at most 8: SageMaker watches at most 10 rollback alarms" in msg


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be empty or blank"),
        ("   ", "must not be empty or blank"),
        (" padded", "must not start or end with spaces"),
        ("bell\x07", "must not contain control characters"),
        ("x" * 256, "must be at most 255 characters"),
        ("team-*", "must not contain '*' or '?': in the IAM grant"),
        ("team-?", "would be wildcards matching other alarms"),
    ],
)
def test_extra_alarm_name_refused(name: str, message: str) -> None:
    ((loc, msg),) = errors(AlarmSettings, {"extraAlarmNames": ["fine", name]})
    assert loc == ("extraAlarmNames", 1)
    assert message in msg


def test_extra_alarm_names_accept_cloudwatch_names() -> None:
    names = ["x" * 255, "Fraud team: p99 > 2s (prod)", "ünïcode-alarm"]
    assert AlarmSettings.model_validate({"extraAlarmNames": names}).extra_alarm_names == tuple(names)


def test_extra_alarm_names_refused_twice_and_as_non_text() -> None:
    assert "names given twice: a" in errors(AlarmSettings, {"extraAlarmNames": ["a", "b", "a"]})[0][1]
    ((loc, _),) = errors(AlarmSettings, {"extraAlarmNames": ["a", 7]})
    assert loc == ("extraAlarmNames", 1)
    ((loc, _),) = errors(AlarmSettings, {"extraAlarmNames": "just-one"})
    assert loc == ("extraAlarmNames",)


# --- serverless fields -----------------------------------------------------------------------------------


@pytest.mark.parametrize("memory", [1024, 2048, 3072, 4096, 5120, 6144])
def test_serverless_memory_sizes(memory: int) -> None:
    assert ServerlessSettings.model_validate({"memorySizeInMB": memory}).memory_size_in_mb == memory


@pytest.mark.parametrize("memory", [512, 1000, 1536, 7168, "2048"])
def test_serverless_memory_size_refused(memory: object) -> None:
    ((loc, msg),) = errors(ServerlessSettings, {"memorySizeInMB": memory})
    assert loc == ("memorySizeInMB",)
    if isinstance(memory, int):
        assert "must be one of 1024, 2048, 3072, 4096, 5120, 6144 (MB)" in msg


def test_serverless_memory_key_is_sagemakers_spelling() -> None:
    assert errors(ServerlessSettings, {"memorySizeInMb": 2048}) == [
        (("memorySizeInMb",), "Extra inputs are not permitted")
    ]


def test_serverless_concurrency_at_its_edges() -> None:
    for good in (1, 200):
        assert ServerlessSettings.model_validate({"maxConcurrency": good, "provisionedConcurrency": good})
    for bad in (0, 201):
        assert errors(ServerlessSettings, {"maxConcurrency": bad})[0][0] == ("maxConcurrency",)
    assert errors(ServerlessSettings, {"maxConcurrency": 10, "provisionedConcurrency": 0})[0][0] == (
        "provisionedConcurrency",
    )
    ((loc, msg),) = errors(ServerlessSettings, {"maxConcurrency": 10, "provisionedConcurrency": 11})
    assert (loc, msg) == (("provisionedConcurrency",), "Value error, must not exceed maxConcurrency (10)")


def test_serverless_defaults() -> None:
    default = ServerlessSettings()
    assert (default.memory_size_in_mb, default.max_concurrency, default.provisioned_concurrency) == (
        2048,
        5,
        None,
    )
