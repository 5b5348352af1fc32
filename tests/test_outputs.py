"""The metadata output and each group's detail: small, deterministic, and within SSM's limits."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from names import GroupNames
from outputs import GROUP_DETAIL_LIMIT, group_detail, module_metadata, to_json
from settings import DeploymentGroupSettings, GroupPlan, SettingsError
from stack import _group_detail_parameter

NAMES = GroupNames("mlops-demo-models-sagemaker-model-cicd-many-environments", "200000000000", "us-east-1")


def group(deploy_environments: int, index: int = 0) -> GroupPlan:
    settings = DeploymentGroupSettings.model_validate(
        {
            "name": "many-environments",
            "sourceBranch": "main",
            "buildEnvironment": {
                "name": "train",
                "account": "200000000000",
                "region": "us-east-1",
                "type": "dev",
            },
            "deployEnvironments": [
                {"name": f"environment-{index:03d}", "account": f"{300000000000 + index}", "type": "prod"}
                for index in range(deploy_environments)
            ],
        }
    )
    return GroupPlan(index=index, group=settings, names=NAMES, project_name="mlops", approved_model=None)


def test_the_metadata_names_no_group() -> None:
    metadata = module_metadata(stack_name="s", infra_pipeline_name="s-infra", infra_pipeline_arn="arn")
    assert metadata == {
        "InfraPipelineName": "s-infra",
        "InfraPipelineArn": "arn",
        "DeploymentGroupsParameterPath": "/s/deployment-groups/",
    }


def test_group_detail_is_deterministic_json() -> None:
    assert to_json(group_detail(group(2))) == to_json(group_detail(group(2)))
    assert to_json({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'


def test_a_group_whose_detail_would_not_fit_fails_the_synth_naming_it() -> None:
    fitting = next(n for n in range(1, 100) if len(to_json(group_detail(group(n + 1)))) > GROUP_DETAIL_LIMIT)
    stack = cdk.Stack(cdk.App(), "Top")
    _group_detail_parameter(stack, "s", group(fitting))
    with pytest.raises(SettingsError) as raised:
        _group_detail_parameter(stack, "s", group(fitting + 1, index=3))
    (problem,) = raised.value.problems
    assert problem.startswith("deployment-groups[3] (many-environments): its detail would be ")
    assert f"its SSM parameter holds {GROUP_DETAIL_LIMIT}" in problem
