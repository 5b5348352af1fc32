"""The deploy path: trigger, deploy pipeline and endpoint stages, with and without an approved model."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.conftest import (
    TOOLING_ACCOUNT,
    StackArtifact,
    Synth,
    group_details,
)

PROD = "prod-deployment-group"
EXPERIMENT = "experimenation-deployment-group"
ENDPOINT_TYPES = ("AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint")


def endpoint_stacks(synth: Synth, group: str) -> dict[str, StackArtifact]:
    return {
        name.rsplit("/", 2)[-2]: stack
        for name, stack in synth.stacks.items()
        if name.startswith(f"MlopsCicd/{group}/ModelDeploy/") and name.endswith("/Endpoint")
    }


def kinds(stack: StackArtifact) -> set[str]:
    return {r["Type"] for r in stack.template.get("Resources", {}).values()}


def deploy_pipeline(synth: Synth, group: str) -> dict[str, Any]:
    template = synth.stack(f"{group}/ModelDeploy").template
    (pipeline,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    properties: dict[str, Any] = pipeline["Properties"]
    return properties


def test_one_endpoint_stage_per_target_build_account_first(example_synth: Synth) -> None:
    stages = [s["Name"] for s in deploy_pipeline(example_synth, PROD)["Stages"]]
    assert stages == [
        "Source",
        "Build",
        f"{PROD}-prod-train-env",
        f"{PROD}-prod-approval-env",
        f"{PROD}-prod-env",
    ]
    placement = {env: (s.account, s.region) for env, s in endpoint_stacks(example_synth, PROD).items()}
    assert placement == {
        "prod-train-env": ("123456789015", "us-east-1"),
        "prod-approval-env": ("123456789016", "us-east-1"),
        "prod-env": ("123456789017", "us-east-1"),
    }


def test_endpoint_actions_deploy_through_the_target_accounts_bootstrap_roles(example_synth: Synth) -> None:
    stages = deploy_pipeline(example_synth, PROD)["Stages"]
    prod = next(s for s in stages if s["Name"].endswith("-prod-env"))
    deploys = [a for a in prod["Actions"] if a["ActionTypeId"]["Provider"] == "CloudFormation"]
    assert deploys
    for action in deploys:
        assert "123456789017" in json.dumps(action["RoleArn"])
        assert "cdk-hnb659fds-deploy-role-123456789017-us-east-1" in json.dumps(action["RoleArn"])


def test_manual_approval_only_before_prod(example_synth: Synth) -> None:
    manual = {
        stage["Name"]: [a["Name"] for a in stage["Actions"] if a["ActionTypeId"]["Provider"] == "Manual"]
        for group in (PROD, EXPERIMENT)
        for stage in deploy_pipeline(example_synth, group)["Stages"]
    }
    assert {name: actions for name, actions in manual.items() if actions} == {f"{PROD}-prod-env": ["Approve"]}


def test_deploy_pipeline_queues_and_never_runs_on_push(example_synth: Synth) -> None:
    pipeline = deploy_pipeline(example_synth, PROD)
    assert pipeline["ExecutionMode"] == "QUEUED"
    assert pipeline["PipelineType"] == "V2"
    source = pipeline["Stages"][0]["Actions"][0]
    assert source["Configuration"]["BranchName"] == "main"
    assert source["Configuration"]["PollForSourceChanges"] is False
    deploy = Template.from_json(example_synth.stack(f"{PROD}/ModelDeploy").template)
    deploy.resource_count_is("AWS::Events::Rule", 0)


def test_deploy_synth_reads_the_approved_model_parameter_and_stops_without_one(example_synth: Synth) -> None:
    template = example_synth.stack(f"{PROD}/ModelDeploy").template
    (project,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodeBuild::Project"]
    variables = {v["Name"]: v for v in project["Properties"]["Environment"]["EnvironmentVariables"]}
    assert variables["APPROVED_MODEL_INFO"]["Type"] == "PARAMETER_STORE"
    assert (
        variables["APPROVED_MODEL_INFO"]["Value"]
        == f"/mlops-demo-models-sagemaker-model-cicd-{PROD}/approved-model"
    )
    assert variables["APPROVED_MODEL_GROUP"]["Value"] == PROD
    assert variables["SEEDFARMER_PROJECT_NAME"]["Value"] == "mlops"
    commands = json.loads(project["Properties"]["Source"]["BuildSpec"])["phases"]["build"]["commands"]
    assert commands[0].startswith(
        'if [ "${APPROVED_MODEL_INFO:-NONE}" = "NONE" ]; then echo "No model version'
    )
    assert commands[0].endswith("exit 1; fi")
    assert commands[-1] == "cdk synth"


def test_parameter_starts_at_none_and_no_update_resets_it(example_synth: Synth) -> None:
    template = Template.from_json(example_synth.stack(f"{PROD}/ModelDeploy").template)
    (resource,) = template.find_resources("Custom::AWS").values()
    properties = resource["Properties"]
    assert "Update" not in properties
    assert "Delete" not in properties
    create = json.loads(properties["Create"])
    assert create["action"] == "putParameter"
    assert create["parameters"]["Value"] == "NONE"
    assert create["parameters"]["Overwrite"] is False
    assert create["ignoreErrorCodesMatching"] == "ParameterAlreadyExists"


def test_trigger_is_subscribed_to_its_build_accounts_topic(example_synth: Synth) -> None:
    template = Template.from_json(example_synth.stack(f"{PROD}/ModelDeploy").template)
    topic = f":sns:us-east-1:123456789015:mlops-demo-models-sagemaker-model-cicd-{PROD}-model-approved"
    parameter = f"/mlops-demo-models-sagemaker-model-cicd-{PROD}/approved-model"
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Handler": "index.handler",
            "Environment": {
                "Variables": {
                    "APPROVED_MODEL_PARAMETER": parameter,
                    "DEPLOY_PIPELINE_NAME": f"mlops-demo-models-sagemaker-model-cicd-{PROD}-model-deploy",
                    "MODEL_PACKAGE_GROUP_NAME": Match.string_like_regexp("-models$"),
                }
            },
        },
    )
    subscription = next(iter(template.find_resources("AWS::SNS::Subscription").values()))["Properties"]
    assert subscription["Protocol"] == "lambda"
    assert topic in json.dumps(subscription["TopicArn"])
    permission = next(iter(template.find_resources("AWS::Lambda::Permission").values()))["Properties"]
    assert permission["Principal"] == "sns.amazonaws.com"
    assert topic in json.dumps(permission["SourceArn"])


def test_trigger_may_only_record_the_model_and_start_its_pipeline(example_synth: Synth) -> None:
    template = Template.from_json(example_synth.stack(f"{PROD}/ModelDeploy").template)
    (function,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Runtime": "python3.14"}}
    ).values()
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    grants = {
        (
            s["Sid"],
            tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],),
            json.dumps(s["Resource"]),
        )
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    actions = {a for _, group, _ in grants for a in group}
    assert actions == {
        "ssm:PutParameter",
        "codepipeline:StartPipelineExecution",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    by_sid = {sid: resource for sid, _, resource in grants}
    assert (
        f"parameter/mlops-demo-models-sagemaker-model-cicd-{PROD}/approved-model"
        in by_sid["RecordApprovedModel"]
    )
    assert f":mlops-demo-models-sagemaker-model-cicd-{PROD}-model-deploy" in by_sid["StartDeployPipeline"]
    assert not template.find_resources(
        "AWS::IAM::Role", {"Properties": {"ManagedPolicyArns": Match.any_value()}}
    )


def test_without_a_model_every_endpoint_stack_is_a_placeholder(example_synth: Synth) -> None:
    for group in (PROD, EXPERIMENT):
        stacks = endpoint_stacks(example_synth, group)
        assert stacks
        for env, stack in stacks.items():
            assert not kinds(stack) & set(ENDPOINT_TYPES), env


def test_with_a_model_its_group_gets_real_endpoints_in_every_target(approved_synth: Synth) -> None:
    stacks = endpoint_stacks(approved_synth, PROD)
    assert set(stacks) == {"prod-train-env", "prod-approval-env", "prod-env"}
    for env, stack in stacks.items():
        assert set(ENDPOINT_TYPES) <= kinds(stack), env
        template = Template.from_json(stack.template)
        template.has_resource_properties(
            "AWS::SageMaker::Model",
            {
                "Containers": [
                    {"ModelPackageName": Match.string_like_regexp(r":123456789015:model-package/.+/3$")}
                ]
            },
        )
    for stack in endpoint_stacks(approved_synth, EXPERIMENT).values():
        assert not kinds(stack) & set(ENDPOINT_TYPES), "another group's model never reaches this group"


@pytest.mark.parametrize("group", [PROD, EXPERIMENT])
def test_deploy_pipeline_is_the_same_with_and_without_a_model(
    example_synth: Synth, approved_synth: Synth, group: str
) -> None:
    """The infra pipeline deploys it from a synth without a model; the deploy pipeline never self-mutates."""
    assert (
        approved_synth.stack(f"{group}/ModelDeploy").template
        == example_synth.stack(f"{group}/ModelDeploy").template
    )


def test_only_endpoint_stacks_change_with_the_model(example_synth: Synth, approved_synth: Synth) -> None:
    changed = {
        name
        for name, stack in approved_synth.stacks.items()
        if stack.template != example_synth.stacks[name].template
    }
    assert changed == {
        f"MlopsCicd/{PROD}/ModelDeploy/{env}/Endpoint"
        for env in ("prod-train-env", "prod-approval-env", "prod-env")
    }


def test_endpoint_stacks_have_no_assets(approved_synth: Synth) -> None:
    for stack in endpoint_stacks(approved_synth, PROD).values():
        assert stack.assets_file is not None
        assets = json.loads(stack.assets_file.read_text())
        files = {
            k
            for k, v in assets.get("files", {}).items()
            if not v["source"]["path"].endswith(".template.json")
        }
        assert not files
        assert not assets.get("dockerImages")


def test_infra_pipeline_deploys_no_endpoint_stack(example_synth: Synth) -> None:
    (pipeline,) = [
        r["Properties"]
        for s, _, r in example_synth.resources("AWS::CodePipeline::Pipeline")
        if s.display_name == "MlopsCicd"
    ]
    assert "endpoint" not in json.dumps(pipeline["Stages"]).lower()


def test_group_detail_names_the_deploy_pipelines_and_endpoints(example_synth: Synth) -> None:
    prod = group_details(example_synth)[PROD]["Value"]
    assert prod["ModelDeployPipelineName"] == f"mlops-demo-models-sagemaker-model-cicd-{PROD}-model-deploy"
    assert set(prod["Endpoints"]) == {"prod-train-env", "prod-approval-env", "prod-env"}
    assert all(len(name) <= 63 for name in prod["Endpoints"].values())
    assert TOOLING_ACCOUNT not in json.dumps(prod["Endpoints"])


def test_each_groups_approval_reaches_its_own_three_targets(approved_experiment_synth: Synth) -> None:
    """With the prod group's synth above, all six targets of the README example get a real endpoint."""
    placement = {
        env: (stack.account, stack.region)
        for env, stack in endpoint_stacks(approved_experiment_synth, EXPERIMENT).items()
        if set(ENDPOINT_TYPES) <= kinds(stack)
    }
    assert placement == {
        "experiment-env1": ("123456789012", "us-east-1"),
        "experiment-env2": ("123456789013", "us-east-1"),
        "experiment-env3": ("123456789014", "us-east-1"),
    }
