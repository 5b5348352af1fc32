"""The rollout settings as the loader reads them: lines in the user's path and spelling, the group's region,
the places a misplaced key belongs, and the plan an environment resolves."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest

from settings import DeployEnvironmentSettings, load_settings
from settings.rollout import Capacity, RolloutMode
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
