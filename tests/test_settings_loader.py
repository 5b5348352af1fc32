"""load_settings: the README example resolved and planned, its stack name checked, approved models taken."""

from __future__ import annotations

import copy
import json
import os

import pytest

from names import CLOUDFORMATION_STACK, STACK_NAME, cross_region_support_stack
from settings import (
    ApplicationSettings,
    EndpointSettings,
    EnvironmentType,
    SettingsError,
    load_settings,
    parse_approved_model,
    regions_offering,
)
from tests.settings_harness import (  # noqa: F401 - the autouse fixture "env"
    B1,
    G1,
    PARAMETERS,
    REMOVE,
    edit,
    problems,
    readme_example_environment,
    set_parameter,
)

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
