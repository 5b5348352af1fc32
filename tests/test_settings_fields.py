"""The input's fields and models: every rule, good and bad, with the exact problem line a user sees."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from settings import (
    ApplicationSettings,
    AutoScalingSettings,
    EndpointSettings,
    EnvironmentType,
    load_settings,
)
from tests.settings_harness import (  # noqa: F401 - the autouse fixture "env"
    ACCOUNT,
    B0,
    B1,
    BRANCH,
    BUCKET_ARN,
    ENDPOINT,
    FOLDER,
    G0,
    G1,
    HOSTS,
    INSTANCE,
    NAME,
    PARAMETERS,
    POLICY_ARN,
    POLICY_NAME,
    REGION,
    REMOVE,
    REPO,
    SCALING,
    SEEDFARMER_NAME,
    SSM,
    TAG_CHARACTERS,
    TAG_KEY,
    TYPE,
    UNKNOWN,
    edit,
    problems,
    readme_example_environment,
    set_parameter,
)

# --- good values ---------------------------------------------------------------------------------------


def _group(settings: ApplicationSettings, index: int = 0) -> Any:
    return settings.parameters.deployment_groups[index]


@pytest.mark.parametrize(
    ("path", "value", "read", "expected"),
    [
        ("infra-repo.branch", "release/1.2", lambda s: s.parameters.infra_repo.branch, "release/1.2"),
        ("infra-repo.path", "modules/sagemaker-model-cicd", lambda s: s.parameters.infra_repo.path, None),
        ("infra-repo.path", "./modules/a_b.c", lambda s: s.parameters.infra_repo.path, None),
        ("infra-repo.name", "Infra.Repo_With-Long-Name", lambda s: s.parameters.infra_repo.name, None),
        ("infra-repo.name", "r" * 100, lambda s: s.parameters.infra_repo.name, None),
        ("model-build-repo.name", "models_2", lambda s: s.parameters.model_build_repo.name, None),
        (f"{G0}.sourceBranch", "feature/JIRA-42_new.model", lambda s: _group(s).source_branch, None),
        (f"{G0}.sourceBranch", "users/a@b/fix", lambda s: _group(s).source_branch, None),
        (f"{G0}.name", "A", lambda s: _group(s).name, None),
        (f"{G0}.name", "a" * 64, lambda s: _group(s).name, None),
        (f"{G0}.name", "Group-2-B", lambda s: _group(s).name, None),
        (f"{B0}.name", "Train1", lambda s: _group(s).build_environment.name, None),
        (f"{B0}.region", "ap-southeast-5", lambda s: _group(s).build_environment.region, None),
        (f"{B0}.type", "prod", lambda s: _group(s).build_environment.type, EnvironmentType.PROD),
        (f"{B0}.account", "000000000000", lambda s: _group(s).build_environment.account, None),
        (f"{G0}.deployEnvironments", REMOVE, lambda s: _group(s).deploy_environments, ()),
        (f"{G0}.deployEnvironments", [], lambda s: _group(s).deploy_environments, ()),
        (f"{B1}.name", "experiment-env1", lambda s: _group(s, 1).build_environment.name, None),
        (
            "permissions-boundary-name",
            "Org+Boundary=1,a.b@c_d-e",
            lambda s: s.parameters.permissions_boundary_name,
            None,
        ),
        (
            "s3-access-logs-bucket-arn",
            "arn:aws:s3:::org-tooling-access-logs",
            lambda s: s.parameters.s3_access_logs_bucket_arn,
            None,
        ),
        (
            "s3-access-logs-bucket-arn",
            "arn:aws-us-gov:s3:::logs.bucket",
            lambda s: s.parameters.s3_access_logs_bucket_arn,
            None,
        ),
        ("tags", {}, lambda s: s.parameters.tags, None),
        (
            "tags",
            {"CostCenter": "ml-4242", "k" * 128: "v" * 256, "Équipe données": "Zürich 東京 a.b:c/d=e+f@h_i"},
            lambda s: s.parameters.tags,
            None,
        ),
        (
            f"{ENDPOINT}.dataCapturePercentage",
            0,
            lambda s: _group(s, 1).deploy_environments[1].endpoint.data_capture_percentage,
            None,
        ),
        (
            f"{ENDPOINT}.dataCapturePercentage",
            100,
            lambda s: _group(s, 1).deploy_environments[1].endpoint.data_capture_percentage,
            None,
        ),
        (f"{ENDPOINT}.vpc", False, lambda s: _group(s, 1).deploy_environments[1].endpoint.vpc, None),
        (
            f"{ENDPOINT}.autoScaling",
            {"minCapacity": 2, "maxCapacity": 2, "targetInvocationsPerInstance": 1},
            lambda s: _group(s, 1).deploy_environments[1].endpoint.auto_scaling,
            AutoScalingSettings(min_capacity=2, max_capacity=2, target_invocations_per_instance=1),
        ),
        (
            f"{G1}.deployEnvironments[1].endpoint",
            {
                "instanceType": "ml.g5.2xlarge",
                "initialInstanceCount": 2,
                "autoScaling": SCALING,
                "dataCapturePercentage": 20,
                "vpc": True,
                "subnetIdsParameter": "/mlops/vpc/subnets",
                "securityGroupIdParameter": "/mlops/vpc/sg/id",
            },
            lambda s: _group(s, 1).deploy_environments[1].endpoint,
            EndpointSettings(
                instance_type="ml.g5.2xlarge",
                initial_instance_count=2,
                auto_scaling=AutoScalingSettings(
                    min_capacity=1, max_capacity=4, target_invocations_per_instance=100
                ),
                data_capture_percentage=20,
                vpc=True,
                subnet_ids_parameter="/mlops/vpc/subnets",
                security_group_id_parameter="/mlops/vpc/sg/id",
            ),
        ),
    ],
)
def test_good_values_are_accepted(
    env: pytest.MonkeyPatch, path: str, value: Any, read: Callable[[ApplicationSettings], Any], expected: Any
) -> None:
    edit(env, path, value)
    assert read(load_settings(os.environ)) == (value if expected is None else expected)


@pytest.mark.parametrize(
    ("variable_name", "value", "read"),
    [
        ("SEEDFARMER_PROJECT_NAME", "Machine-Learning-2", lambda s: s.seedfarmer.project_name),
        ("SEEDFARMER_MODULE_NAME", "m" * 100, lambda s: s.seedfarmer.module_name),
        (
            "SEEDFARMER_PERMISSIONS_BOUNDARY_ARN",
            "arn:aws:iam::111111111111:policy/seedfarmer/boundary",
            lambda s: s.seedfarmer.permissions_boundary_arn,
        ),
        ("CDK_DEFAULT_REGION", "eu-west-1", lambda s: s.tooling.region),
    ],
)
def test_good_context_values_are_accepted(
    env: pytest.MonkeyPatch, variable_name: str, value: str, read: Callable[[ApplicationSettings], Any]
) -> None:
    env.setenv(variable_name, value)
    assert read(load_settings(os.environ)) == value


# --- bad values: one exact line each -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        # infra-repo
        ("infra-repo", "codecommit", "infra-repo: must be an object ({...}), got 'codecommit'"),
        ("infra-repo.host", "svn", f"infra-repo.host: must be {HOSTS}, got 'svn'"),
        ("infra-repo.host", REMOVE, "infra-repo.host: is required"),
        ("infra-repo.name", REMOVE, "infra-repo.name: is required"),
        ("infra-repo.name", "", "infra-repo.name: must not be empty"),
        ("infra-repo.name", "my repo", f"infra-repo.name: {REPO}, got 'my repo'"),
        ("infra-repo.name", "infra.git", f"infra-repo.name: {REPO}, got 'infra.git'"),
        ("infra-repo.name", "dépôt", f"infra-repo.name: {REPO}, got 'dépôt'"),
        ("infra-repo.name", "r" * 101, f"infra-repo.name: {REPO}, got {'r' * 60!r}... (101 characters)"),
        ("infra-repo.branch", "", "infra-repo.branch: must not be empty"),
        ("infra-repo.branch", "feature..x", f"infra-repo.branch: {BRANCH}, got 'feature..x'"),
        ("infra-repo.path", "/abs/module", f"infra-repo.path: {FOLDER}, got '/abs/module'"),
        ("infra-repo.path", "..", f"infra-repo.path: {FOLDER}, got '..'"),
        ("infra-repo.path", "../sibling", f"infra-repo.path: {FOLDER}, got '../sibling'"),
        ("infra-repo.path", "a/../b", f"infra-repo.path: {FOLDER}, got 'a/../b'"),
        ("infra-repo.path", "module/..", f"infra-repo.path: {FOLDER}, got 'module/..'"),
        ("infra-repo.path", "has space", f"infra-repo.path: {FOLDER}, got 'has space'"),
        ("infra-repo.path", "", "infra-repo.path: must not be empty"),
        ("infra-repo.paht", "module", f"infra-repo.paht: {UNKNOWN}"),
        # model-build-repo
        ("model-build-repo.host", "svn", f"model-build-repo.host: must be {HOSTS}, got 'svn'"),
        ("model-build-repo.name", REMOVE, "model-build-repo.name: is required"),
        (
            "model-build-repo.branch",
            "main",
            "model-build-repo.branch: not a key here: it belongs in infra-repo; the model-build repository's "
            "branches are the groups' sourceBranch",
        ),
        # deployment-groups
        ("deployment-groups", [], "deployment-groups: must list at least one deployment group"),
        ("deployment-groups", {}, "deployment-groups: must be a list ([...])"),
        (
            "deployment-groups",
            [{**PARAMETERS["deployment-groups"][0], "sourceBranch": "a b"}],
            f"{G0}.sourceBranch: {BRANCH}, got 'a b'",
        ),
        ("deployment-groups[0]", "dev", "deployment-groups[0]: must be an object ({...}), got 'dev'"),
        (
            f"{B1}.account",
            "12345",
            "deployment-groups[1].buildEnvironment.account: must be 12 digits, got '12345'",
        ),
        (f"{B1}.account", "1234567890123", f"{B1}.account: {ACCOUNT}, got '1234567890123'"),
        (f"{B1}.account", "12345678901a", f"{B1}.account: {ACCOUNT}, got '12345678901a'"),
        (f"{B1}.account", "١٢٣٤٥٦٧٨٩٠١٢", f"{B1}.account: {ACCOUNT}, got '١٢٣٤٥٦٧٨٩٠١٢'"),
        (
            f"{B1}.account",
            123456789012,
            f"{B1}.account: must be a string of 12 digits: quote it ('123456789012'); "
            "YAML read it as the number 123456789012",
        ),
        (
            f"{B1}.account",
            yaml.safe_load("012345670123"),
            f"{B1}.account: must be a string of 12 digits: quote it ('012345670123'); "
            "YAML read an unquoted 012345670123 as the octal number 1402433619",
        ),
        (
            f"{B1}.account",
            12345,
            f"{B1}.account: must be a string of 12 digits: quote it; YAML read it as the number 12345",
        ),
        (
            "tags",
            yaml.safe_load("{team: on}"),
            "tags['team']: must be a string: quote it; YAML read it as true "
            "(unquoted yes, no, on, off, true and false are booleans to YAML)",
        ),
        (f"{G0}.deployEnvironments[1].account", "", f"{G0}.deployEnvironments[1].account: must not be empty"),
        (f"{G0}.deployEnvironments[1].account", REMOVE, f"{G0}.deployEnvironments[1].account: is required"),
        (f"{B0}.region", "useast1", f"{B0}.region: {REGION}, got 'useast1'"),
        (f"{B0}.region", "US-EAST-1", f"{B0}.region: {REGION}, got 'US-EAST-1'"),
        (f"{B0}.region", "us-east", f"{B0}.region: {REGION}, got 'us-east'"),
        (f"{B0}.region", REMOVE, f"{B0}.region: is required"),
        (
            f"{G0}.deployEnvironments[0].region",
            "us-east-1",
            f"{G0}.deployEnvironments[0].region: not a key here: it belongs in buildEnvironment; "
            "deploy environments serve from their group's build region",
        ),
        (
            f"{G0}.deployEnvironments[0].instanceType",
            "ml.m5.large",
            f"{G0}.deployEnvironments[0].instanceType: not a key here: it belongs in endpoint",
        ),
        (f"{G0}.tags", {}, f"{G0}.tags: not a key here: it belongs in the module's parameters"),
        (f"{B0}.type", "staging", f"{B0}.type: {TYPE}, got 'staging'"),
        (f"{B0}.type", "Prod", f"{B0}.type: {TYPE}, got 'Prod'"),
        (f"{G1}.deployEnvironments[0].type", REMOVE, f"{G1}.deployEnvironments[0].type: is required"),
        (f"{G0}.name", "my_group", f"{G0}.name: {NAME}, got 'my_group'"),
        (f"{G0}.name", "1group", f"{G0}.name: {NAME}, got '1group'"),
        (f"{G0}.name", "group-", f"{G0}.name: {NAME}, got 'group-'"),
        (f"{G0}.name", "a--b", f"{G0}.name: {NAME}, got 'a--b'"),
        (f"{G0}.name", "a" * 65, f"{G0}.name: {NAME}, got {'a' * 60!r}... (65 characters)"),
        (f"{G0}.name", "", f"{G0}.name: must not be empty"),
        (f"{G0}.name", REMOVE, f"{G0}.name: is required"),
        (f"{B0}.name", "train env", f"{B0}.name: {NAME}, got 'train env'"),
        (
            f"{G1}.deployEnvironments[1].name",
            "prod.env",
            f"{G1}.deployEnvironments[1].name: {NAME}, got 'prod.env'",
        ),
        (f"{G0}.sourceBranch", "", f"{G0}.sourceBranch: must not be empty"),
        (f"{G0}.sourceBranch", REMOVE, f"{G0}.sourceBranch: is required"),
        (f"{G0}.sourceBranch", 42, f"{G0}.sourceBranch: must be a string (in quotes), got 42"),
        *(
            (f"{G0}.sourceBranch", branch, f"{G0}.sourceBranch: {BRANCH}, got {branch!r}")
            for branch in [
                "feature..x",
                "-x",
                "/x",
                "feature/",
                "release.",
                "x.lock",
                "x.lock/y",
                ".hidden",
                "a/.b",
                "has space",
                "a~1",
                "a^",
                "a:b",
                "a?",
                "a*",
                "a[b",
                "a\\b",
                "a//b",
                "a@{b",
                "@",
                "HEAD",
                "tab\there",
            ]
        ),
        (f"{G0}.sourceBrnach", "dev", "deployment-groups[0].sourceBrnach: unknown key (check its spelling)"),
        (
            f"{G0}.source_branch",
            "dev",
            f"{G0}.source_branch: unknown key: keys inside values are camelCase ('sourceBranch')",
        ),
        (f"{G0}.buildEnvironment", REMOVE, f"{G0}.buildEnvironment: is required"),
        (f"{G0}.deployEnvironments", {}, f"{G0}.deployEnvironments: must be a list ([...])"),
        (
            f"{G0}.deployEnvironments[0].acount",
            "123456789013",
            f"{G0}.deployEnvironments[0].acount: {UNKNOWN}",
        ),
        (
            f"{B0}.requireApproval",
            "yes please",
            f"{B0}.requireApproval: must be true or false, got 'yes please'",
        ),
        # endpoint
        (f"{ENDPOINT}.instanceType", "m5.xlarge", f"{ENDPOINT}.instanceType: {INSTANCE}, got 'm5.xlarge'"),
        (f"{ENDPOINT}.instanceType", "ml.m5", f"{ENDPOINT}.instanceType: {INSTANCE}, got 'ml.m5'"),
        (
            f"{ENDPOINT}.initialInstanceCount",
            0,
            f"{ENDPOINT}.initialInstanceCount: must be at least 1, got 0",
        ),
        (
            f"{ENDPOINT}.initialInstanceCount",
            101,
            f"{ENDPOINT}.initialInstanceCount: must be at most 100, got 101",
        ),
        (
            f"{ENDPOINT}.initialInstanceCount",
            1.5,
            f"{ENDPOINT}.initialInstanceCount: must be a whole number, got 1.5",
        ),
        (
            f"{ENDPOINT}.autoScaling",
            {**SCALING, "minCapacity": 3, "maxCapacity": 2},
            f"{ENDPOINT}.autoScaling: minCapacity (3) must not exceed maxCapacity (2)",
        ),
        (
            f"{ENDPOINT}.autoScaling",
            {**SCALING, "minCapacity": 0},
            f"{ENDPOINT}.autoScaling.minCapacity: must be at least 1, got 0",
        ),
        (
            f"{ENDPOINT}.autoScaling",
            {"minCapacity": 1, "maxCapacity": 2},
            f"{ENDPOINT}.autoScaling.targetInvocationsPerInstance: is required",
        ),
        (
            f"{ENDPOINT}.dataCapturePercentage",
            -1,
            f"{ENDPOINT}.dataCapturePercentage: must be at least 0, got -1",
        ),
        (
            f"{ENDPOINT}.dataCapturePercentage",
            101,
            f"{ENDPOINT}.dataCapturePercentage: must be at most 100, got 101",
        ),
        (f"{ENDPOINT}.vpc", "maybe", f"{ENDPOINT}.vpc: must be true or false, got 'maybe'"),
        (f"{ENDPOINT}.subnetIdsParameter", "subnets", f"{ENDPOINT}.subnetIdsParameter: {SSM}, got 'subnets'"),
        (f"{ENDPOINT}.instanceTyp", "ml.m5.xlarge", f"{ENDPOINT}.instanceTyp: {UNKNOWN}"),
        # optional parameters
        (
            "permissions-boundary-name",
            "bad name",
            f"permissions-boundary-name: {POLICY_NAME}, got 'bad name'",
        ),
        (
            "permissions-boundary-name",
            "arn:aws:iam::123456789012:policy/b",
            f"permissions-boundary-name: {POLICY_NAME}, got 'arn:aws:iam::123456789012:policy/b'",
        ),
        (
            "s3-access-logs-bucket-arn",
            "my-bucket",
            f"s3-access-logs-bucket-arn: {BUCKET_ARN}, got 'my-bucket'",
        ),
        (
            "s3-access-logs-bucket-arn",
            "arn:aws:s3:::My_Bucket",
            f"s3-access-logs-bucket-arn: {BUCKET_ARN}, got 'arn:aws:s3:::My_Bucket'",
        ),
        ("tags", {"aws:cost": "x"}, f"tags['aws:cost']: {TAG_KEY}"),
        ("tags", {"AWS:Cost": "x"}, f"tags['AWS:Cost']: {TAG_KEY}"),
        ("tags", {"": "x"}, "tags['']: key must not be empty"),
        ("tags", {"k" * 129: "x"}, f"tags[{'k' * 129!r}]: key must be at most 128 characters"),
        ("tags", {"team": ""}, "tags['team']: must not be empty"),
        ("tags", {"cost;center": "x"}, f"tags['cost;center']: key {TAG_CHARACTERS}, not ';'"),
        ("tags", {"team": "a\nb*"}, f"tags['team']: {TAG_CHARACTERS}, not '\\n', '*', got 'a\\nb*'"),
        (
            "tags",
            {"SeedFarmerModuleName": "x"},
            "tags['SeedFarmerModuleName']: key is a tag the module or CDK sets itself",
        ),
        (
            "tags",
            {f"k{i}": "v" for i in range(47)},
            "tags: 47 tags given, at most 46 fit: every resource also carries the module's 3 and CDK's 1, "
            "and AWS allows 50 per resource",
        ),
        (
            "tags",
            {"team": "v" * 257},
            f"tags['team']: must be at most 256 characters, got {'v' * 60!r}... (257 characters)",
        ),
        ("tags", {"team": 1}, "tags['team']: must be a string (in quotes), got 1"),
        ("tags", ["team"], "tags: must be an object ({...})"),
    ],
)
def test_bad_values_are_reported_in_the_users_spelling(
    env: pytest.MonkeyPatch, path: str, value: Any, problem: str
) -> None:
    edit(env, path, value)
    assert problems() == [problem]


@pytest.mark.parametrize(
    ("variable_name", "value", "problem"),
    [
        (
            "SEEDFARMER_PROJECT_NAME",
            "my project",
            f"SEEDFARMER_PROJECT_NAME: {SEEDFARMER_NAME}, got 'my project'",
        ),
        (
            "SEEDFARMER_DEPLOYMENT_NAME",
            "demo_1",
            f"SEEDFARMER_DEPLOYMENT_NAME: {SEEDFARMER_NAME}, got 'demo_1'",
        ),
        ("SEEDFARMER_MODULE_NAME", "-cicd", f"SEEDFARMER_MODULE_NAME: {SEEDFARMER_NAME}, got '-cicd'"),
        ("SEEDFARMER_MODULE_NAME", "", "SEEDFARMER_MODULE_NAME: must not be empty"),
        (
            "SEEDFARMER_PERMISSIONS_BOUNDARY_ARN",
            "boundary",
            f"SEEDFARMER_PERMISSIONS_BOUNDARY_ARN: {POLICY_ARN}, got 'boundary'",
        ),
        ("CDK_DEFAULT_ACCOUNT", "1111", f"CDK_DEFAULT_ACCOUNT: {ACCOUNT}, got '1111'"),
        ("CDK_DEFAULT_REGION", "mars", f"CDK_DEFAULT_REGION: {REGION}, got 'mars'"),
    ],
)
def test_bad_context_values_are_reported_by_variable(
    env: pytest.MonkeyPatch, variable_name: str, value: str, problem: str
) -> None:
    env.setenv(variable_name, value)
    assert problems() == [problem]


# --- uniqueness ----------------------------------------------------------------------------------------


def test_group_names_are_unique_ignoring_case(env: pytest.MonkeyPatch) -> None:
    edit(env, f"{G1}.name", "Experimenation-Deployment-Group")
    assert problems() == [
        "deployment-groups: group names must be unique (ignoring case), repeated: "
        "[0] 'experimenation-deployment-group', [1] 'Experimenation-Deployment-Group'"
    ]


@pytest.mark.parametrize(
    ("build", "deploy", "repeated"),
    [
        (
            "prod-train-env",
            ["prod-train-env", "prod-env"],
            "buildEnvironment 'prod-train-env', deployEnvironments[0] 'prod-train-env'",
        ),
        (
            "train",
            ["Prod-Env", "prod-env"],
            "deployEnvironments[0] 'Prod-Env', deployEnvironments[1] 'prod-env'",
        ),
        (
            "a",
            ["a", "b", "B"],
            "buildEnvironment 'a', deployEnvironments[0] 'a'; "
            "deployEnvironments[1] 'b', deployEnvironments[2] 'B'",
        ),
    ],
)
def test_environment_names_are_unique_within_a_group(
    env: pytest.MonkeyPatch, build: str, deploy: list[str], repeated: str
) -> None:
    group = copy.deepcopy(PARAMETERS["deployment-groups"][1])
    group["buildEnvironment"]["name"] = build
    group["deployEnvironments"] = [
        {"name": name, "account": f"12345678902{i}", "type": "dev"} for i, name in enumerate(deploy)
    ]
    set_parameter(env, "deployment-groups", [PARAMETERS["deployment-groups"][0], group])
    assert problems() == [
        f"{G1}: environment names must be unique within a group (ignoring case), repeated: {repeated}"
    ]


def test_environment_names_may_repeat_across_groups(env: pytest.MonkeyPatch) -> None:
    edit(env, f"{G1}.deployEnvironments[0].name", "experiment-env2")
    groups = load_settings(os.environ).parameters.deployment_groups
    assert groups[1].deploy_environments[0].name == "experiment-env2"
