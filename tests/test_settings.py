"""The input contract: every rule of settings/, good and bad, with the exact problem line a user sees."""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from names import CLOUDFORMATION_STACK, STACK_NAME, cross_region_support_stack
from settings import (
    GROUPS_FILE_SIZE_LIMIT,
    MODULE_TAG_KEYS,
    PARAMETER_SIZE_LIMIT,
    PROBLEMS_SHOWN,
    RESOURCE_TAG_LIMITS,
    TAGS_LIMIT,
    TOOLING_REGION_SERVICES,
    ApplicationSettings,
    AutoScalingSettings,
    EndpointSettings,
    EnvironmentType,
    SettingsError,
    carried_environment,
    load_settings,
    parse_approved_model,
    regions_offering,
)

# The README example.
PARAMETERS: dict[str, Any] = {
    "infra-repo": {"host": "codecommit", "name": "cdk-infra-repo"},
    "model-build-repo": {"host": "codecommit", "name": "model-build-repo"},
    "deployment-groups": [
        {
            "name": "experimenation-deployment-group",
            "sourceBranch": "dev",
            "buildEnvironment": {
                "name": "experiment-env1",
                "account": "123456789012",
                "region": "us-east-1",
                "type": "dev",
            },
            "deployEnvironments": [
                {"name": "experiment-env2", "account": "123456789013", "type": "dev"},
                {"name": "experiment-env3", "account": "123456789014", "type": "dev"},
            ],
        },
        {
            "name": "prod-deployment-group",
            "sourceBranch": "main",
            "buildEnvironment": {
                "name": "prod-train-env",
                "account": "123456789015",
                "region": "us-east-1",
                "type": "preprod",
            },
            "deployEnvironments": [
                {"name": "prod-approval-env", "account": "123456789016", "type": "preprod"},
                {"name": "prod-env", "account": "123456789017", "type": "prod"},
            ],
        },
    ],
}
STRUCTURED = {"infra-repo", "model-build-repo", "deployment-groups", "tags"}
BASELINE = {
    "SEEDFARMER_PARAMETER_INFRA_REPO": json.dumps(PARAMETERS["infra-repo"]),
    "SEEDFARMER_PARAMETER_MODEL_BUILD_REPO": json.dumps(PARAMETERS["model-build-repo"]),
    "SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS": json.dumps(PARAMETERS["deployment-groups"]),
    "SEEDFARMER_PROJECT_NAME": "mlops",
    "SEEDFARMER_DEPLOYMENT_NAME": "demo",
    "SEEDFARMER_MODULE_NAME": "sagemaker-model-cicd",
    "CDK_DEFAULT_ACCOUNT": "111111111111",
    "CDK_DEFAULT_REGION": "us-east-1",
}

# The rules as settings/ words them.
ACCOUNT = "must be 12 digits"
REGION = "must be an AWS region such as us-east-1"
TYPE = "must be 'dev', 'preprod' or 'prod'"
NAME = "must be 1-64 letters, digits or single hyphens, start with a letter and not end with a hyphen"
REPO = "must be a CodeCommit repository name: 1-100 letters, digits, '.', '_' or '-', not ending in '.git'"
BRANCH = (
    "must be a git branch name: no spaces, '~', '^', ':', '?', '*', '[', '\\', '..', '//' or '@{', "
    "no part starting with '.' or ending with '.lock', not starting with '-' or '/', "
    "not ending with '/' or '.', not '@' or 'HEAD'"
)
FOLDER = (
    "must be a relative folder inside the repository (letters, digits, '_', '-', '.' and '/'; "
    "no leading '/', no '..')"
)
SEEDFARMER_NAME = "must be 1-128 letters, digits or hyphens, starting with a letter or digit"
POLICY_NAME = "must be an IAM policy name (1-128 of letters, digits, +=,.@_-)"
POLICY_ARN = "must be an IAM policy ARN such as arn:aws:iam::123456789012:policy/boundary"
BUCKET_ARN = "must be an S3 bucket ARN such as arn:aws:s3:::my-access-logs"
INSTANCE = "must be a SageMaker instance type such as ml.m5.xlarge"
SSM = "must be an SSM parameter name such as /my-project/vpc/sg/id"
TAG_KEY = "key must not start with 'aws:' (reserved for AWS)"
TAG_CHARACTERS = "may hold only letters, digits, spaces and _ . : / = + - @ (AWS's tag characters)"
UNKNOWN = "unknown key (check its spelling)"
KNOWN = (
    "known: infra-repo, model-build-repo, deployment-groups, deployment-groups-file, "
    "permissions-boundary-name, s3-access-logs-bucket-arn, tags"
)
PROJECT_REQUIRED = (
    "SEEDFARMER_PROJECT_NAME: is required "
    "(seedfarmer sets it; outside seedfarmer, set SEEDFARMER_PROJECT_NAME)"
)

REMOVE = object()
G0, G1 = "deployment-groups[0]", "deployment-groups[1]"
B0, B1 = f"{G0}.buildEnvironment", f"{G1}.buildEnvironment"
ENDPOINT = f"{G1}.deployEnvironments[1].endpoint"
SCALING = {"minCapacity": 1, "maxCapacity": 4, "targetInvocationsPerInstance": 100}

HOSTS = "'codecommit', 'github', 'github-enterprise', 'gitlab', 'gitlab-self-managed' or 'bitbucket'"


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Nothing but the README example, whatever the shell running the tests exports."""
    for name in list(os.environ):
        if name.startswith(("SEEDFARMER_", "CDK_DEFAULT_")):
            monkeypatch.delenv(name)
    for name, value in BASELINE.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def variable(parameter: str) -> str:
    return "SEEDFARMER_PARAMETER_" + parameter.replace("-", "_").upper()


def set_parameter(env: pytest.MonkeyPatch, parameter: str, value: Any) -> None:
    """As seedfarmer does: structured values JSON-encoded, strings as they are."""
    env.setenv(variable(parameter), json.dumps(value) if parameter in STRUCTURED else value)


def edit(env: pytest.MonkeyPatch, path: str, value: Any) -> None:
    """Set (or with REMOVE delete) what ``path``, in the user's spelling, names inside the baseline."""
    parameter, *steps = [
        int(index) if index else key for index, key in re.findall(r"\[(\d+)\]|([^.\[\]]+)", path)
    ]
    if not steps:
        if value is REMOVE:
            env.delenv(variable(str(parameter)))
        else:
            set_parameter(env, str(parameter), value)
        return
    document = copy.deepcopy(PARAMETERS[str(parameter)])
    target = document
    for step in steps[:-1]:
        target = target[step] if isinstance(step, int) else target.setdefault(step, {})
    if value is REMOVE:
        del target[steps[-1]]
    else:
        target[steps[-1]] = value
    set_parameter(env, str(parameter), document)


def problems() -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(os.environ)
    return caught.value.problems


# --- the baseline and its defaults ---------------------------------------------------------------------


def test_readme_example_loads_with_defaults() -> None:
    settings = load_settings(os.environ)
    params = settings.parameters
    assert (params.infra_repo.host, params.infra_repo.name) == ("codecommit", "cdk-infra-repo")
    assert (params.infra_repo.branch, params.infra_repo.path) == ("main", ".")
    assert (params.model_build_repo.host, params.model_build_repo.name) == ("codecommit", "model-build-repo")
    assert params.permissions_boundary_name is None
    assert params.s3_access_logs_bucket_arn is None
    assert params.tags == {}
    assert [g.name for g in params.deployment_groups] == [
        "experimenation-deployment-group",
        "prod-deployment-group",
    ]
    dev, prod = params.deployment_groups
    assert dev.source_branch == "dev"
    assert (dev.build_environment.account, dev.build_environment.region) == ("123456789012", "us-east-1")
    assert dev.build_environment.type is EnvironmentType.DEV
    assert [(e.name, e.account, e.type) for e in prod.deploy_environments] == [
        ("prod-approval-env", "123456789016", EnvironmentType.PREPROD),
        ("prod-env", "123456789017", EnvironmentType.PROD),
    ]
    assert dev.build_environment.endpoint == EndpointSettings(
        instance_type="ml.m5.xlarge",
        initial_instance_count=1,
        auto_scaling=None,
        data_capture_percentage=0,
        vpc=True,
        subnet_ids_parameter=None,
        security_group_id_parameter=None,
    )
    assert (settings.seedfarmer.project_name, settings.seedfarmer.deployment_name) == ("mlops", "demo")
    assert settings.seedfarmer.module_name == "sagemaker-model-cicd"
    assert settings.seedfarmer.permissions_boundary_arn is None
    assert (settings.tooling.account, settings.tooling.region) == ("111111111111", "us-east-1")


def test_only_prod_needs_approval_by_default() -> None:
    groups = load_settings(os.environ).parameters.deployment_groups
    approvals = {
        env.name: env.needs_approval
        for group in groups
        for env in (group.build_environment, *group.deploy_environments)
    }
    assert approvals == {
        "experiment-env1": False,
        "experiment-env2": False,
        "experiment-env3": False,
        "prod-train-env": False,
        "prod-approval-env": False,
        "prod-env": True,
    }


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


# --- approval ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "type_", "require_approval", "needs_approval"),
    [
        (f"{G1}.deployEnvironments[1]", "prod", REMOVE, True),
        (f"{G1}.deployEnvironments[1]", "prod", False, False),
        (f"{G1}.deployEnvironments[1]", "prod", True, True),
        (f"{G1}.deployEnvironments[1]", "preprod", REMOVE, False),
        (f"{G1}.deployEnvironments[1]", "preprod", True, True),
        (f"{G1}.deployEnvironments[1]", "dev", True, True),
        (f"{G1}.deployEnvironments[1]", "dev", False, False),
        (B1, "prod", REMOVE, True),
        (B1, "prod", False, False),
        (B1, "dev", True, True),
    ],
)
def test_prod_needs_approval_unless_overridden(
    env: pytest.MonkeyPatch, path: str, type_: str, require_approval: object, needs_approval: bool
) -> None:
    groups = copy.deepcopy(PARAMETERS["deployment-groups"])
    environment = groups[1]["buildEnvironment"] if path == B1 else groups[1]["deployEnvironments"][1]
    environment["type"] = type_
    if require_approval is not REMOVE:
        environment["requireApproval"] = require_approval
    set_parameter(env, "deployment-groups", groups)
    group = load_settings(os.environ).parameters.deployment_groups[1]
    chosen = group.build_environment if path == B1 else group.deploy_environments[1]
    assert chosen.needs_approval is needs_approval


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


# --- stack name ----------------------------------------------------------------------------------------


def test_stack_name_is_project_deployment_module() -> None:
    assert load_settings(os.environ).stack_name == "mlops-demo-sagemaker-model-cicd"


def test_long_stack_name_is_never_shortened(env: pytest.MonkeyPatch) -> None:
    project, deployment, module = "Machine-Learning-Platform-" + "p" * 14, "production-" + "d" * 29, "m" * 46
    for name, value in [("PROJECT", project), ("DEPLOYMENT", deployment), ("MODULE", module)]:
        env.setenv(f"SEEDFARMER_{name}_NAME", value)
    stack_name = load_settings(os.environ).stack_name
    assert stack_name == f"{project}-{deployment}-{module}"
    assert len(stack_name) == 128


def test_stack_name_beyond_cloudformations_limit_is_reported(env: pytest.MonkeyPatch) -> None:
    env.setenv("SEEDFARMER_MODULE_NAME", "m" * 118)
    assert problems() == [
        "SEEDFARMER_PROJECT_NAME, SEEDFARMER_DEPLOYMENT_NAME, SEEDFARMER_MODULE_NAME: the stack name "
        "'<project>-<deployment>-<module>' would be 129 characters; CloudFormation allows at most 128"
    ]


def _stack_name_of(env: pytest.MonkeyPatch, length: int) -> None:
    env.setenv("SEEDFARMER_MODULE_NAME", "m" * (length - len("mlops-demo-")))


def test_cdks_cross_region_support_stack_name_is_checked_before_synth(env: pytest.MonkeyPatch) -> None:
    """A build region other than the tooling region adds '<stack>-support-<region>', never shortened."""
    _stack_name_of(env, 128)
    # Every group builds in the tooling region: no support stack.
    assert load_settings(os.environ).stack_name == f"mlops-demo-{'m' * 117}"
    edit(env, f"{G1}.buildEnvironment.region", "eu-west-1")
    assert problems() == [
        "SEEDFARMER_PROJECT_NAME, SEEDFARMER_DEPLOYMENT_NAME, SEEDFARMER_MODULE_NAME: the stack name "
        "'<project>-<deployment>-<module>' is 128 characters; with "
        "deployment-groups[1].buildEnvironment.region 'eu-west-1' (not the tooling region) "
        "the infra pipeline needs the stack '<stack name>-support-eu-west-1', "
        "146 characters, and CloudFormation allows at most 128"
    ]
    _stack_name_of(env, 128 - len("-support-eu-west-1"))
    assert load_settings(os.environ).parameters.deployment_groups[1].build_environment.region == "eu-west-1"


def test_stage_stacks_leave_room_for_cdks_support_stack_in_any_region() -> None:
    """Stage stacks are shortened to STACK_NAME, so a deploy pipeline's support stack always fits."""
    longest = max(regions_offering("sagemaker"), key=len)
    assert len(cross_region_support_stack("s" * STACK_NAME, longest)) <= CLOUDFORMATION_STACK


def test_a_project_name_must_start_the_stack_name_with_a_letter(env: pytest.MonkeyPatch) -> None:
    env.setenv("SEEDFARMER_PROJECT_NAME", "42-mlops")
    assert problems() == [
        "SEEDFARMER_PROJECT_NAME: must start with a letter: it begins the stack name "
        "'<project>-<deployment>-<module>', and CloudFormation stack names do, got '42-mlops'"
    ]


@pytest.mark.parametrize("info", ["", "NONE", " NONE "])
def test_no_approved_model_means_placeholders(env: pytest.MonkeyPatch, info: str) -> None:
    env.setenv("APPROVED_MODEL_INFO", info)
    settings = load_settings(os.environ)
    assert settings.approved_model_info is None
    assert settings.approved_model_group is None


def approved_model_info(settings: ApplicationSettings, group: int) -> str:
    """What the approval trigger records for version 1 of ``group``'s registry."""
    names = settings.groups[group].names
    return json.dumps(
        {
            "modelPackageArn": f"arn:aws:sagemaker:{names.build_region}:{names.build_account}:"
            f"model-package/{names.model_package_group}/1",
            "modelDataUrl": f"s3://{names.artifacts_bucket}/models/1/model.tar.gz",
            "imageUri": f"{names.build_account}.dkr.ecr.{names.build_region}.amazonaws.com/serving:1",
        }
    )


def test_approved_model_belongs_to_one_named_group(env: pytest.MonkeyPatch) -> None:
    info = approved_model_info(load_settings(os.environ), 1)
    env.setenv("APPROVED_MODEL_INFO", info)
    env.setenv("APPROVED_MODEL_GROUP", "prod-deployment-group")
    settings = load_settings(os.environ)
    assert settings.approved_model_info == info
    assert settings.approved_model_group == "prod-deployment-group"
    assert [plan.approved_model for plan in settings.groups] == [None, parse_approved_model(info)]


def test_approved_model_is_checked_in_settings_against_its_group(env: pytest.MonkeyPatch) -> None:
    env.setenv("APPROVED_MODEL_INFO", approved_model_info(load_settings(os.environ), 0))
    env.setenv("APPROVED_MODEL_GROUP", "prod-deployment-group")
    with pytest.raises(SettingsError) as raised:
        load_settings(os.environ)
    assert [problem.split(" ")[:2] for problem in raised.value.problems] == [
        ["APPROVED_MODEL_INFO:", "modelPackageArn"],
        ["APPROVED_MODEL_INFO:", "modelDataUrl"],
    ]


def test_an_incomplete_approved_model_is_one_settings_problem(env: pytest.MonkeyPatch) -> None:
    env.setenv("APPROVED_MODEL_INFO", '{"modelPackageArn": "x"}')
    env.setenv("APPROVED_MODEL_GROUP", "prod-deployment-group")
    with pytest.raises(SettingsError) as raised:
        load_settings(os.environ)
    (problem,) = raised.value.problems
    assert problem.startswith("APPROVED_MODEL_INFO: missing modelDataUrl; missing imageUri; modelPackageArn")


def test_approved_model_without_its_group_is_refused(env: pytest.MonkeyPatch) -> None:
    env.setenv("APPROVED_MODEL_INFO", '{"modelPackageArn": "x"}')
    with pytest.raises(SettingsError) as raised:
        load_settings(os.environ)
    assert raised.value.problems == [
        "APPROVED_MODEL_GROUP: is required when APPROVED_MODEL_INFO is set "
        "(set it to the deployment group the model was approved in)"
    ]


def test_approved_model_for_an_unknown_group_is_refused(env: pytest.MonkeyPatch) -> None:
    env.setenv("APPROVED_MODEL_INFO", '{"modelPackageArn": "x"}')
    env.setenv("APPROVED_MODEL_GROUP", "prod")
    with pytest.raises(SettingsError) as raised:
        load_settings(os.environ)
    assert raised.value.problems == [
        "APPROVED_MODEL_GROUP: no deployment group named 'prod' "
        "(known: experimenation-deployment-group, prod-deployment-group)"
    ]


CONNECTION = "arn:aws:codeconnections:us-east-1:111111111111:connection/0b9e7b0c-1d2e-4f3a-8b4c-5d6e7f8a9b0c"
OLD_CONNECTION = (
    "arn:aws:codestar-connections:eu-west-1:111111111111:connection/0b9e7b0c-1d2e-4f3a-8b4c-5d6e7f8a9b0c"
)


@pytest.mark.parametrize(
    ("host", "name", "arn"),
    [
        ("github", "my-org/model-build", CONNECTION),
        ("github-enterprise", "ml_team/infra.repo", OLD_CONNECTION),
        ("gitlab", "group/subgroup/deeper/repo", CONNECTION),
        ("gitlab-self-managed", "group/repo", CONNECTION),
        ("bitbucket", "workspace/repo", CONNECTION),
    ],
)
def test_hosted_repositories_through_a_connection(
    env: pytest.MonkeyPatch, host: str, name: str, arn: str
) -> None:
    env.setenv(
        "SEEDFARMER_PARAMETER_MODEL_BUILD_REPO",
        json.dumps({"host": host, "name": name, "connectionArn": arn}),
    )
    repo = load_settings(os.environ).parameters.model_build_repo
    assert (repo.host, repo.name, repo.connection_arn, repo.hosted) == (host, name, arn, True)


@pytest.mark.parametrize(
    ("value", "problems"),
    [
        (
            {"host": "github", "name": "my-org/model-build"},
            [
                "model-build-repo.connectionArn: is required for host 'github': "
                "the ARN of an AWS CodeConnections connection to it"
            ],
        ),
        (
            {"host": "codecommit", "name": "model-build-repo", "connectionArn": CONNECTION},
            [
                "model-build-repo.connectionArn: is only for hosted repositories; "
                f"a CodeCommit repository needs none, got '{CONNECTION[:60]}'... (94 characters)"
            ],
        ),
        (
            {"host": "github", "name": "model-build", "connectionArn": CONNECTION},
            [
                "model-build-repo.name: must be the full repository path 'owner/repository' on github, "
                "got 'model-build'"
            ],
        ),
        (
            {"host": "github", "name": "a/b/c", "connectionArn": CONNECTION},
            [
                "model-build-repo.name: must be the full repository path 'owner/repository' on github, "
                "got 'a/b/c'"
            ],
        ),
        (
            {"host": "gitlab", "name": "group/", "connectionArn": CONNECTION},
            [
                "model-build-repo.name: must be the full repository path 'group/repository' or "
                "'group/subgroup/.../repository' on gitlab, got 'group/'"
            ],
        ),
        (
            {"host": "bitbucket", "name": "ws/repo", "connectionArn": "arn:aws:iam::111111111111:role/x"},
            [
                "model-build-repo.connectionArn: must be a connection ARN such as "
                "arn:aws:codeconnections:us-east-1:123456789012:connection/<uuid>, "
                "got 'arn:aws:iam::111111111111:role/x'"
            ],
        ),
    ],
)
def test_hosted_repository_problems(
    env: pytest.MonkeyPatch, value: dict[str, str], problems: list[str]
) -> None:
    env.setenv("SEEDFARMER_PARAMETER_MODEL_BUILD_REPO", json.dumps(value))
    with pytest.raises(SettingsError) as raised:
        load_settings(os.environ)
    assert raised.value.problems == problems


# --- deployment-groups-file ---------------------------------------------------------------------------

FILE_RULE = (
    "must be a file in the module's folder, relative to it (letters, digits, '_', '-', '.' and '/'; "
    "no leading '/', no '..')"
)


def file_environment(name: str) -> dict[str, str]:
    """The README example with its groups named by file instead of given inline."""
    environ = {k: v for k, v in os.environ.items() if k != variable("deployment-groups")}
    environ[variable("deployment-groups-file")] = name
    return environ


def file_problems(folder: Path, name: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(file_environment(name), module_folder=folder)
    return caught.value.problems


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_groups_from_a_file_load_as_the_inline_ones(tmp_path: Path, suffix: str) -> None:
    groups = PARAMETERS["deployment-groups"]
    text = yaml.safe_dump(groups) if suffix == "yaml" else json.dumps(groups)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / f"groups.{suffix}").write_text(text)
    from_file = load_settings(file_environment(f"config/groups.{suffix}"), module_folder=tmp_path)
    inline = load_settings(os.environ)
    assert from_file.parameters.deployment_groups == inline.parameters.deployment_groups
    assert from_file.parameters.deployment_groups_file == f"config/groups.{suffix}"
    # The pipelines' synths read the same file from the infra repository, by the same name.
    assert from_file.carried_environment[variable("deployment-groups-file")] == f"config/groups.{suffix}"
    assert variable("deployment-groups") not in from_file.carried_environment


DUPLICATED = """\
- name: dev-group
  sourceBranch: dev
  buildEnvironment: {name: train, account: '123456789012', region: us-east-1, type: dev}
  sourceBranch: main
"""


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (DUPLICATED, "(line 4, column 3): key 'sourceBranch' given twice (first on line 2)"),
        (
            '[{"name": "a", "name": "b"}]',
            "(line 1, column 16): key 'name' given twice (first on line 1)",
        ),
    ],
)
def test_a_key_given_twice_in_the_file_is_an_error_naming_it(tmp_path: Path, text: str, where: str) -> None:
    """PyYAML itself keeps the last value of a repeated key without a word."""
    (tmp_path / "groups.yaml").write_text(text)
    assert file_problems(tmp_path, "groups.yaml") == [
        f"deployment-groups-file groups.yaml: is not valid YAML or JSON {where}"
    ]


def test_a_merge_key_may_override_what_it_merges(tmp_path: Path) -> None:
    """'<<' is how YAML shares settings; a key beside it overrides the merged one on purpose."""
    (tmp_path / "groups.yaml").write_text(
        "- name: dev-group\n"
        "  sourceBranch: dev\n"
        "  buildEnvironment:\n"
        "    <<: &env {name: train, account: '123456789012', region: us-east-1, type: dev}\n"
        "    name: build\n"
    )
    settings = load_settings(file_environment("groups.yaml"), module_folder=tmp_path)
    assert settings.parameters.deployment_groups[0].build_environment.name == "build"


def test_a_problem_inside_the_file_names_the_file_and_the_path_in_it(tmp_path: Path) -> None:
    groups = copy.deepcopy(PARAMETERS["deployment-groups"])
    groups[1]["buildEnvironment"]["account"] = "12345"
    (tmp_path / "groups.yaml").write_text(yaml.safe_dump(groups))
    assert file_problems(tmp_path, "groups.yaml") == [
        "deployment-groups-file groups.yaml[1].buildEnvironment.account: must be 12 digits, got '12345'"
    ]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.yaml", None, "deployment-groups-file missing.yaml: cannot be read in the module's folder"),
        (
            "bad.yaml",
            "- name: [\n",
            "deployment-groups-file bad.yaml: is not valid YAML or JSON (line 2, column 1): "
            "expected the node content, but found '<stream end>'",
        ),
        ("empty.yaml", "", "deployment-groups-file empty.yaml: must be a list ([...])"),
        ("object.yaml", "name: a\n", "deployment-groups-file object.yaml: must be a list ([...])"),
        ("none.yaml", "[]\n", "deployment-groups-file none.yaml: must list at least one deployment group"),
        ("../outside.yaml", None, f"deployment-groups-file: {FILE_RULE}, got '../outside.yaml'"),
        ("/etc/passwd", None, f"deployment-groups-file: {FILE_RULE}, got '/etc/passwd'"),
    ],
)
def test_a_bad_file_is_one_line_naming_it(
    tmp_path: Path, name: str, content: str | None, problem: str
) -> None:
    if content is not None:
        (tmp_path / name).write_text(content)
    (line,) = file_problems(tmp_path, name)
    assert line.startswith(problem), line


def test_a_link_out_of_the_module_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.yaml").write_text(yaml.safe_dump(PARAMETERS["deployment-groups"]))
    (tmp_path / "module").mkdir()
    (tmp_path / "module" / "groups.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    assert file_problems(tmp_path / "module", "groups.yaml") == [
        f"deployment-groups-file groups.yaml: leads outside the module's folder ({tmp_path / 'module'})"
    ]


def test_inline_groups_and_a_file_are_mutually_exclusive(tmp_path: Path) -> None:
    (tmp_path / "groups.yaml").write_text(yaml.safe_dump(PARAMETERS["deployment-groups"]))
    environ = dict(os.environ, **{variable("deployment-groups-file"): "groups.yaml"})
    with pytest.raises(SettingsError) as caught:
        load_settings(environ, module_folder=tmp_path)
    assert caught.value.problems == ["deployment-groups, deployment-groups-file: give one of them, not both"]


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
