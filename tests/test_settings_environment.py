"""Seedfarmer's variables: read exactly as carried, JSON decoded strictly, every bad one reported."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from names import CLOUDFORMATION_STACK, STACK_NAME
from settings import (
    GROUPS_FILE_SIZE_LIMIT,
    MODULE_TAG_KEYS,
    PARAMETER_SIZE_LIMIT,
    PROBLEMS_SHOWN,
    RESOURCE_TAG_LIMITS,
    TAGS_LIMIT,
    TOOLING_REGION_SERVICES,
    SettingsError,
    carried_environment,
    load_settings,
    regions_offering,
)
from tests.settings_harness import (  # noqa: F401 - the autouse fixture "env"
    B0,
    BASELINE,
    BUCKET_ARN,
    ENDPOINT,
    KNOWN,
    PARAMETERS,
    PROJECT_REQUIRED,
    REGION,
    STRUCTURED,
    TYPE,
    edit,
    problems,
    readme_example_environment,
    set_parameter,
    variable,
)

# --- missing, unknown and unparsable variables ---------------------------------------------------------


@pytest.mark.parametrize(
    ("variable_name", "problem"),
    [
        (
            "SEEDFARMER_PARAMETER_INFRA_REPO",
            "infra-repo: is required "
            "(add it to the module's parameters, passed as SEEDFARMER_PARAMETER_INFRA_REPO)",
        ),
        (
            "SEEDFARMER_PARAMETER_MODEL_BUILD_REPO",
            "model-build-repo: is required "
            "(add it to the module's parameters, passed as SEEDFARMER_PARAMETER_MODEL_BUILD_REPO)",
        ),
        (
            "SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS",
            "deployment-groups: is required "
            "(add it to the module's parameters, passed as SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS, "
            "or name a file holding the list with deployment-groups-file)",
        ),
        ("SEEDFARMER_PROJECT_NAME", PROJECT_REQUIRED),
        (
            "SEEDFARMER_DEPLOYMENT_NAME",
            "SEEDFARMER_DEPLOYMENT_NAME: is required "
            "(seedfarmer sets it; outside seedfarmer, set SEEDFARMER_DEPLOYMENT_NAME)",
        ),
        (
            "SEEDFARMER_MODULE_NAME",
            "SEEDFARMER_MODULE_NAME: is required "
            "(seedfarmer sets it; outside seedfarmer, set SEEDFARMER_MODULE_NAME)",
        ),
        (
            "CDK_DEFAULT_ACCOUNT",
            "CDK_DEFAULT_ACCOUNT: is required (the CDK CLI sets it from your AWS credentials; "
            "else set CDK_DEFAULT_ACCOUNT to the tooling account's ID)",
        ),
        (
            "CDK_DEFAULT_REGION",
            "CDK_DEFAULT_REGION: is required (the CDK CLI sets it from your AWS credentials; "
            "else set CDK_DEFAULT_REGION to the tooling region)",
        ),
    ],
)
def test_missing_variable_names_the_variable_to_set(
    env: pytest.MonkeyPatch, variable_name: str, problem: str
) -> None:
    env.delenv(variable_name)
    assert problems() == [problem]


def test_variables_are_read_exactly_as_spelled(env: pytest.MonkeyPatch) -> None:
    """A lower-case variable is neither read nor carried, so it must not count."""
    env.delenv("SEEDFARMER_PROJECT_NAME")
    env.setenv("seedfarmer_project_name", "mlops")
    env.setenv("seedfarmer_parameter_tags", "not json")
    assert problems() == [PROJECT_REQUIRED]


@pytest.mark.parametrize(
    "variable_name", ["SEEDFARMER_PARAMETER_FOO_BAR", "SEEDFARMER_PARAMETER_DEPLOYMENT_GROUP"]
)
def test_unknown_parameter_is_rejected(env: pytest.MonkeyPatch, variable_name: str) -> None:
    env.setenv(variable_name, "x")
    name = variable_name.removeprefix("SEEDFARMER_PARAMETER_").lower().replace("_", "-")
    assert problems() == [f"{name}: unknown parameter ({variable_name}); {KNOWN}"]


@pytest.mark.parametrize("parameter", sorted(STRUCTURED))
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "Expecting value: line 1 column 1 (char 0)"),
        (
            "{'host': 'codecommit'}",
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        ("", "Expecting value: line 1 column 1 (char 0)"),
    ],
)
def test_invalid_json_is_reported_by_parameter_name(
    env: pytest.MonkeyPatch, parameter: str, text: str, reason: str
) -> None:
    env.setenv(variable(parameter), text)
    assert problems() == [f"{parameter}: is not valid JSON ({variable(parameter)}): {reason}"]


def test_several_problems_are_all_reported_one_line_each(env: pytest.MonkeyPatch) -> None:
    groups = copy.deepcopy(PARAMETERS["deployment-groups"])
    groups[0]["sourceBrnach"] = "dev"
    groups[1]["buildEnvironment"]["account"] = "12345"
    groups[1]["deployEnvironments"][1]["type"] = "production"
    set_parameter(env, "deployment-groups", groups)
    env.setenv(variable("model-build-repo"), "{")
    env.setenv(variable("tags"), "[")
    env.setenv("SEEDFARMER_PARAMETER_FOO_BAR", "x")
    set_parameter(env, "s3-access-logs-bucket-arn", "my-bucket")
    env.delenv("SEEDFARMER_PROJECT_NAME")
    env.setenv("CDK_DEFAULT_REGION", "mars")
    with pytest.raises(SettingsError) as caught:
        load_settings(os.environ)
    assert caught.value.problems == [
        f"foo-bar: unknown parameter (SEEDFARMER_PARAMETER_FOO_BAR); {KNOWN}",
        "model-build-repo: is not valid JSON (SEEDFARMER_PARAMETER_MODEL_BUILD_REPO): "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        "tags: is not valid JSON (SEEDFARMER_PARAMETER_TAGS): Expecting value: line 1 column 2 (char 1)",
        "deployment-groups[0].sourceBrnach: unknown key (check its spelling)",
        "deployment-groups[1].buildEnvironment.account: must be 12 digits, got '12345'",
        f"deployment-groups[1].deployEnvironments[1].type: {TYPE}, got 'production'",
        f"s3-access-logs-bucket-arn: {BUCKET_ARN}, got 'my-bucket'",
        PROJECT_REQUIRED,
        f"CDK_DEFAULT_REGION: {REGION}, got 'mars'",
    ]
    assert str(caught.value) == "\n".join(caught.value.problems)
    assert all("\n" not in line and "Traceback" not in line for line in caught.value.problems)


# --- what the pipelines carry --------------------------------------------------------------------------


def test_carried_environment_is_exactly_the_module_inputs(env: pytest.MonkeyPatch) -> None:
    extra = {
        "SEEDFARMER_PARAMETER_TAGS": json.dumps({"team": "ml"}),
        "SEEDFARMER_PERMISSIONS_BOUNDARY_ARN": "arn:aws:iam::111111111111:policy/boundary",
    }
    ignored = {
        "PATH": os.environ.get("PATH", "/usr/bin"),
        "HOME": "/root",
        "AWS_REGION": "eu-west-1",
        "SEEDFARMER_MODULE_METADATA": "{}",
        "SEEDFARMER_MODULE_ROLE_ARN": "arn:aws:iam::111111111111:role/module",
        "CDK_DEFAULT_PROFILE": "default",
        "MY_SEEDFARMER_PROJECT_NAME": "other",
        "APPROVED_MODEL_INFO": "NONE",
        "APPROVED_MODEL_GROUP": "prod-deployment-group",
    }
    for name, value in {**extra, **ignored}.items():
        env.setenv(name, value)
    carried = load_settings(os.environ).carried_environment
    assert carried == {**BASELINE, **extra}
    assert list(carried) == sorted(carried)


def test_carried_environment_of_any_mapping() -> None:
    environ = {
        "PATH": "/bin",
        "SEEDFARMER_PARAMETER_ANYTHING": "1",
        "SEEDFARMER_MODULE_METADATA": "",
        "SEEDFARMER_MODULE_NAME": "m",
        "CDK_DEFAULT_ACCOUNT": "111111111111",
        "CDK_DEFAULT_OUTDIR": "cdk.out",
    }
    assert carried_environment(environ) == {
        "CDK_DEFAULT_ACCOUNT": "111111111111",
        "SEEDFARMER_MODULE_NAME": "m",
        "SEEDFARMER_PARAMETER_ANYTHING": "1",
    }


# --- strict values, duplicate keys, sizes and nesting (seedfarmer JSON-encodes every non-string value) ---


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (
            f"{ENDPOINT}.initialInstanceCount",
            "2",
            f"{ENDPOINT}.initialInstanceCount: must be a whole number, got '2'",
        ),
        (
            f"{ENDPOINT}.initialInstanceCount",
            True,
            f"{ENDPOINT}.initialInstanceCount: must be a whole number, got True",
        ),
        (
            f"{ENDPOINT}.dataCapturePercentage",
            2.5,
            f"{ENDPOINT}.dataCapturePercentage: must be a whole number, got 2.5",
        ),
        (f"{ENDPOINT}.vpc", "true", f"{ENDPOINT}.vpc: must be true or false, got 'true'"),
        (f"{ENDPOINT}.networkIsolation", 1, f"{ENDPOINT}.networkIsolation: must be true or false, got 1"),
        (f"{B0}.requireApproval", "yes", f"{B0}.requireApproval: must be true or false, got 'yes'"),
    ],
)
def test_counts_and_booleans_take_only_their_json_type(
    env: pytest.MonkeyPatch, path: str, value: Any, problem: str
) -> None:
    edit(env, path, value)
    assert problems() == [problem]


def test_a_repeated_key_is_an_error_naming_it(env: pytest.MonkeyPatch) -> None:
    env.setenv(variable("infra-repo"), '{"host": "codecommit", "name": "a", "name": "b"}')
    (problem,) = problems()
    assert problem.startswith("infra-repo: is not valid JSON (SEEDFARMER_PARAMETER_INFRA_REPO)")
    assert problem.endswith("duplicate key 'name'")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 100_000 + "]" * 100_000, "at most 65536 are read"),
        ("[" * 20_000 + "]" * 20_000, "nested too deeply"),
    ],
)
def test_oversized_or_deeply_nested_values_are_one_line_not_a_traceback(
    env: pytest.MonkeyPatch, text: str, reason: str
) -> None:
    env.setenv(variable("tags"), text)
    (problem,) = problems()
    assert problem.startswith("tags: is not valid JSON (SEEDFARMER_PARAMETER_TAGS): ")
    assert reason in problem
    assert "\n" not in problem


@pytest.mark.parametrize(
    ("region", "problem"),
    [
        ("eu-wset-1", "is not an AWS region botocore knows; closest: 'eu-west-1'"),
        ("us-gov-west-1", "is in the aws-us-gov partition; the module supports the aws partition only"),
        ("cn-northwest-1", "is in the aws-cn partition; the module supports the aws partition only"),
        ("us-isob-east-1", "is in the aws-iso-b partition; the module supports the aws partition only"),
    ],
)
def test_regions_are_checked_against_botocores_endpoint_data(
    env: pytest.MonkeyPatch, region: str, problem: str
) -> None:
    edit(env, f"{B0}.region", region)
    assert problems() == [f"{B0}.region: {problem}, got {region!r}"]


def test_the_tooling_region_must_offer_the_pipelines(env: pytest.MonkeyPatch) -> None:
    """CodeBuild and CodePipeline are offered in fewer regions than SageMaker (botocore's data)."""

    everywhere = frozenset.union(*(regions_offering(s) for s in TOOLING_REGION_SERVICES))
    lacking = sorted(everywhere - regions_offering("codepipeline"))
    assert lacking, "botocore lists a region without CodePipeline"
    env.setenv("CDK_DEFAULT_REGION", lacking[0])
    (problem,) = problems()
    assert problem.startswith("CDK_DEFAULT_REGION: does not offer CodePipeline")


def test_readme_states_each_limit_the_settings_enforce() -> None:
    """The parameter table and its notes say the numbers the code holds; a changed limit fails here."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in readme.splitlines() if line.startswith("| `")}
    assert f"at most {TAGS_LIMIT}:" in rows["`tags`"]
    assert f"{len(MODULE_TAG_KEYS)} `SeedFarmer*Name` tags" in rows["`tags`"]
    assert f"all allow {min(RESOURCE_TAG_LIMITS.values())}" in rows["`tags`"]
    assert GROUPS_FILE_SIZE_LIMIT == 2**20
    assert "at most 1 MB" in rows["`deployment-groups-file`"]
    assert f"read up to\n{PARAMETER_SIZE_LIMIT:,} characters" in readme
    assert f"at most {CLOUDFORMATION_STACK} characters" in readme
    assert f"shortened to {STACK_NAME}" in readme
    assert f"At most {PROBLEMS_SHOWN} lines are printed" in readme
