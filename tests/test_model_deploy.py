"""The model deploy stack (stages/model_deploy.py): its pipeline's waves, approvals and synth step, and the
approved-model parameter, read from the shared synths."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

from tests.conftest import Synth
from tests.template_harness import EXPERIMENT, PROD, endpoint_stacks


def deploy_pipeline(synth: Synth, group: str) -> dict[str, Any]:
    template = synth.stack(f"{group}/ModelDeploy").template
    (pipeline,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    properties: dict[str, Any] = pipeline["Properties"]
    return properties


def stage_members(pipeline: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Each stage's name and what its actions do: ``Approve``, ``<mode> <stack>`` or ``SmokeTest-<env>``."""
    return [
        (
            stage["Name"],
            sorted(
                f"{a['Configuration']['ActionMode']} {a['Configuration']['StackName']}"
                if a["ActionTypeId"]["Provider"] == "CloudFormation"
                else a["Name"].rsplit(".", 1)[-1]  # CDK prefixes a wave's actions with their stage's
                for a in stage["Actions"]
            ),
        )
        for stage in pipeline["Stages"]
    ]


def deploys(*stack_names: str) -> list[str]:
    return sorted(
        f"{mode} {name}" for name in stack_names for mode in ("CHANGE_SET_REPLACE", "CHANGE_SET_EXECUTE")
    )


def smoke_tests(*environments: str) -> list[str]:
    """The smoke test after each environment's deploy, in the same stage (test_smoke_test_stage.py)."""
    return sorted(f"SmokeTest-{environment}" for environment in environments)


def test_environments_of_one_type_deploy_side_by_side_dev_preprod_prod(example_synth: Synth) -> None:
    """One endpoint update takes minutes: a wave per type, not a stage per environment."""
    prod = {env: s.stack_name for env, s in endpoint_stacks(example_synth, PROD).items()}
    assert stage_members(deploy_pipeline(example_synth, PROD))[2:] == [
        (
            "preprod",
            [
                *deploys(prod["prod-train-env"], prod["prod-approval-env"]),
                *smoke_tests("prod-train-env", "prod-approval-env"),
            ],
        ),
        # CDK Pipelines names a wave of one stage after that stage.
        (f"{PROD}-prod-env", ["Approve", *deploys(prod["prod-env"]), *smoke_tests("prod-env")]),
    ]
    experiment = {env: s.stack_name for env, s in endpoint_stacks(example_synth, EXPERIMENT).items()}
    assert stage_members(deploy_pipeline(example_synth, EXPERIMENT))[2:] == [
        ("dev", [*deploys(*experiment.values()), *smoke_tests(*experiment)])
    ]
    placement = {env: (s.account, s.region) for env, s in endpoint_stacks(example_synth, PROD).items()}
    assert placement == {
        "prod-train-env": ("123456789015", "us-east-1"),
        "prod-approval-env": ("123456789016", "us-east-1"),
        "prod-env": ("123456789017", "us-east-1"),
    }


def test_sequential_order_keeps_one_stage_per_environment_build_first(long_names_synth: Synth) -> None:
    group = "Very-Long-Mixed-Case-Deployment-Group-Name-For-Limits-Testing-X"
    stacks = {env: s.stack_name for env, s in endpoint_stacks(long_names_synth, group).items()}
    assert stage_members(deploy_pipeline(long_names_synth, group))[2:] == [
        (
            f"{group}-{env}",
            ["Approve", *deploys(stacks[env]), *smoke_tests(env)],
        )
        for env in ("Build-Env-With-A-Long-Name", "Deploy-Env-With-A-Long-Name-Too")
    ]
    side_by_side = "Very-Long-Mixed-Case-Deployment-Group-Name-For-Limits-Testing-Y"
    stacks = {env: s.stack_name for env, s in endpoint_stacks(long_names_synth, side_by_side).items()}
    assert stage_members(deploy_pipeline(long_names_synth, side_by_side))[2:] == [
        ("dev", [*deploys(*stacks.values()), *smoke_tests(*stacks)])
    ]


def test_endpoint_actions_deploy_through_the_target_accounts_bootstrap_roles(example_synth: Synth) -> None:
    stages = deploy_pipeline(example_synth, PROD)["Stages"]
    prod = next(s for s in stages if s["Name"] == f"{PROD}-prod-env")
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


def test_deploy_synth_reads_the_approved_model_from_its_execution_and_stops_without_one(
    example_synth: Synth,
) -> None:
    """Each execution carries its model (a pipeline variable): a queued one deploys what it was run for."""
    template = example_synth.stack(f"{PROD}/ModelDeploy").template
    (project,) = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CodeBuild::Project" and "SmokeTest" not in r["Metadata"]["aws:cdk:path"]
    ]
    variables = {v["Name"]: v for v in project["Properties"]["Environment"]["EnvironmentVariables"]}
    assert "APPROVED_MODEL_INFO" not in variables  # not read from SSM when the build happens to start
    assert variables["APPROVED_MODEL_GROUP"]["Value"] == PROD
    assert variables["SEEDFARMER_PROJECT_NAME"]["Value"] == "mlops"
    pipeline = deploy_pipeline(example_synth, PROD)
    assert pipeline["Variables"] == [
        {
            "Name": "APPROVED_MODEL_INFO",
            "DefaultValue": "NONE",
            "Description": "The approved model this execution deploys; the approval trigger sets it",
        }
    ]
    (synth,) = [a for stage in pipeline["Stages"] for a in stage["Actions"] if a["Name"] == "Synth"]
    action_variables = json.loads(synth["Configuration"]["EnvironmentVariables"])
    assert action_variables == [
        {"name": "APPROVED_MODEL_INFO", "type": "PLAINTEXT", "value": "#{variables.APPROVED_MODEL_INFO}"}
    ]
    commands = json.loads(project["Properties"]["Source"]["BuildSpec"])["phases"]["build"]["commands"]
    assert commands[0].startswith(
        'if [ "${APPROVED_MODEL_INFO:-NONE}" = "NONE" ]; then echo "No model version'
    )
    assert commands[0].endswith("exit 1; fi")
    assert commands[-1] == "npx cdk synth"


def test_deploy_synth_looks_up_vpc_values_through_each_vpc_targets_lookup_role(example_synth: Synth) -> None:
    """CloudFormation resolves SSM-typed parameters as the deploy role, which may not read them."""
    template = example_synth.stack(f"{PROD}/ModelDeploy").template
    (project,) = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CodeBuild::Project" and "SmokeTest" not in r["Metadata"]["aws:cdk:path"]
    ]
    commands = json.loads(project["Properties"]["Source"]["BuildSpec"])["phases"]["build"]["commands"]
    # A cached cdk.context.json in the infra repository would pin yesterday's subnets.
    assert commands.index("rm -f cdk.context.json") < commands.index("npx cdk synth")
    role = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
    statements = [
        s
        for policy in template["Resources"].values()
        if policy["Type"] == "AWS::IAM::Policy" and {"Ref": role} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    (lookup,) = [s for s in statements if s.get("Sid") == "LookUpEndpointNetwork"]
    assert lookup["Action"] == "sts:AssumeRole"
    assert [json.dumps(r) for r in lookup["Resource"]] == [
        json.dumps(
            {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        f":iam::{account}:role/cdk-hnb659fds-lookup-role-{account}-us-east-1",
                    ],
                ]
            }
        )
        for account in ("123456789015", "123456789016", "123456789017")
    ]
    assert all(s.get("Sid") == "LookUpEndpointNetwork" for s in statements if "sts:AssumeRole" in s["Action"])


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
