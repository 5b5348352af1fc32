"""The metadata output and each group's detail: small, deterministic, and within SSM's limits."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest

from names import GroupNames
from outputs import GROUP_DETAIL_LIMIT, group_detail, module_metadata, to_json
from settings import DeploymentGroupSettings, GroupPlan, SettingsError
from stack import _group_detail_parameter
from tests.conftest import EXAMPLE_STACK_NAME, TOOLING_ACCOUNT, Synth, group_details

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


def test_metadata_output_names_the_infra_pipeline_and_where_the_groups_are(example_synth: Synth) -> None:
    """Only what does not grow with the groups: seedfarmer stores it in SSM (README "Scale")."""
    outputs = example_synth.stack("MlopsCicd").template["Outputs"]
    assert json.loads(outputs["metadata"]["Value"]) == {
        "InfraPipelineName": f"{EXAMPLE_STACK_NAME}-infra",
        "InfraPipelineArn": f"arn:aws:codepipeline:us-east-1:{TOOLING_ACCOUNT}:{EXAMPLE_STACK_NAME}-infra",
        "DeploymentGroupsParameterPath": f"/{EXAMPLE_STACK_NAME}/deployment-groups/",
    }


def test_each_group_has_its_detail_in_a_standard_ssm_parameter(example_synth: Synth) -> None:
    details = group_details(example_synth)
    assert set(details) == {"experimenation-deployment-group", "prod-deployment-group"}
    assert {(d["Type"], d["Tier"]) for d in details.values()} == {("String", "Standard")}
    prod = details["prod-deployment-group"]["Value"]
    assert prod["BuildAccount"] == "123456789015"
    assert prod["DeployAccounts"] == ["123456789016", "123456789017"]
    assert prod["ApprovalTopicArn"].startswith("arn:aws:sns:us-east-1:123456789015:")
    assert prod["ModelBuildPipelineName"] == f"{EXAMPLE_STACK_NAME}-prod-deployment-group-model-build"


def test_fifty_groups_get_fifty_detail_parameters_that_fit(fifty_groups_synth: Synth) -> None:
    details = group_details(fifty_groups_synth)
    assert sorted(details) == [f"group-{index:03d}" for index in range(50)]
    top = fifty_groups_synth.stack("MlopsCicd").template
    for detail in details.values():
        assert len(json.dumps(detail["Value"], sort_keys=True)) <= 4096
    assert len(top["Outputs"]["metadata"]["Value"]) < 300


def test_group_detail_names_the_deploy_pipelines_and_endpoints(example_synth: Synth) -> None:
    prod = group_details(example_synth)["prod-deployment-group"]["Value"]
    assert (
        prod["ModelDeployPipelineName"]
        == "mlops-demo-models-sagemaker-model-cicd-prod-deployment-group-model-deploy"
    )
    assert set(prod["Endpoints"]) == {"prod-train-env", "prod-approval-env", "prod-env"}
    assert all(len(name) <= 63 for name in prod["Endpoints"].values())
    assert TOOLING_ACCOUNT not in json.dumps(prod["Endpoints"])
