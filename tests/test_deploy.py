"""The deploy path: trigger, deploy pipeline and endpoint stages, with and without an approved model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from names import GroupNames
from settings import DeploymentGroupSettings, DeployOrder, deploy_waves, load_settings
from tests.conftest import (
    TOOLING_ACCOUNT,
    StackArtifact,
    Synth,
    approved_model_environment,
    group_details,
    seedfarmer_environment,
)

PROD = "prod-deployment-group"
PROD_NAMES = GroupNames(f"mlops-demo-models-sagemaker-model-cicd-{PROD}", "123456789015", "us-east-1")
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
                    "MODEL_PACKAGE_PARTITION": {"Ref": "AWS::Partition"},
                    "MODEL_PACKAGE_ACCOUNT": "123456789015",
                    "MODEL_PACKAGE_REGION": "us-east-1",
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
        "codepipeline:ListPipelineExecutions",
        "codepipeline:GetPipelineExecution",
        "sqs:SendMessage",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    by_sid = {sid: resource for sid, _, resource in grants}
    assert (
        f"parameter/mlops-demo-models-sagemaker-model-cicd-{PROD}/approved-model"
        in by_sid["RecordApprovedModel"]
    )
    deploy_pipeline_arn = f":mlops-demo-models-sagemaker-model-cicd-{PROD}-model-deploy"
    assert deploy_pipeline_arn in by_sid["StartDeployPipeline"]
    assert by_sid["FindPendingExecution"] == by_sid["StartDeployPipeline"]
    queue_id = logical_id_of(template, "AWS::SQS::Queue", "FailedApprovalsQueue")
    key_id = logical_id_of(template, "AWS::KMS::Key", "FailedApprovalsKey")
    assert json.loads(by_sid["SendFailedApprovals"]) == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert json.loads(by_sid["EncryptFailedApprovals"]) == {"Fn::GetAtt": [key_id, "Arn"]}
    assert not template.find_resources(
        "AWS::IAM::Role", {"Properties": {"ManagedPolicyArns": Match.any_value()}}
    )


def logical_id_of(template: Template, kind: str, prefix: str) -> str:
    (found,) = [logical_id for logical_id in template.find_resources(kind) if logical_id.startswith(prefix)]
    return found


def test_a_failed_approval_goes_to_an_encrypted_queue_after_two_retries(example_synth: Synth) -> None:
    template = Template.from_json(example_synth.stack(f"{PROD}/ModelDeploy").template)
    queue_id = logical_id_of(template, "AWS::SQS::Queue", "FailedApprovalsQueue")
    key_id = logical_id_of(template, "AWS::KMS::Key", "FailedApprovalsKey")
    (function_id,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Runtime": "python3.14"}}
    )
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": function_id},
            "Qualifier": "$LATEST",
            "MaximumRetryAttempts": 2,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
        },
    )
    queue = template.find_resources("AWS::SQS::Queue")[queue_id]["Properties"]
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert queue["QueueName"] == PROD_NAMES.failed_approvals_queue
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    # Lambda checks the role when the configuration is created, so the grant must exist first.
    (config,) = template.find_resources("AWS::Lambda::EventInvokeConfig").values()
    assert any(d.startswith("ApprovalTriggerRoleDefaultPolicy") for d in config["DependsOn"])


def test_an_undelivered_approval_goes_to_the_subscriptions_dead_letter_queue(example_synth: Synth) -> None:
    """Tooling account, build region (here the tooling one); only the group's topic may use queue and key."""
    template = Template.from_json(example_synth.stack(f"{PROD}/ModelDeploy").template)
    queue_name = PROD_NAMES.undelivered_approvals_queue
    topic = f":sns:us-east-1:123456789015:mlops-demo-models-sagemaker-model-cicd-{PROD}-model-approved"
    (subscription,) = template.find_resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{TOOLING_ACCOUNT}:{queue_name}"
    }
    queue_id = logical_id_of(template, "AWS::SQS::Queue", "UndeliveredApprovalsQueue")
    assert queue_id in subscription["DependsOn"]
    assert template.find_resources("AWS::SQS::Queue")[queue_id]["Properties"]["QueueName"] == queue_name
    (queue_policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in template.find_resources("AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    key_id = logical_id_of(template, "AWS::KMS::Key", "UndeliveredApprovalsKey")
    key_policy = template.find_resources("AWS::KMS::Key")[key_id]["Properties"]["KeyPolicy"]["Statement"]
    for statements, actions in (
        (queue_policy, "sqs:SendMessage"),
        (key_policy, ["kms:Decrypt", "kms:GenerateDataKey"]),
    ):
        (sns,) = [s for s in statements if s.get("Principal") == {"Service": "sns.amazonaws.com"}]
        assert sns["Effect"] == "Allow"
        assert sns["Action"] == actions
        (source,) = sns["Condition"]["ArnEquals"].values()
        assert list(sns["Condition"]["ArnEquals"]) == ["aws:SourceArn"]
        assert topic in json.dumps(source)
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in queue_policy
    )


def test_an_alarm_on_each_queue_and_on_the_triggers_errors(example_synth: Synth) -> None:
    template = Template.from_json(example_synth.stack(f"{PROD}/ModelDeploy").template)
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    watched: dict[str, list[Any]] = {}
    for alarm in alarms.values():
        properties = alarm["Properties"]
        assert properties["ComparisonOperator"] == "GreaterThanThreshold"
        assert properties["Threshold"] == 0
        assert properties["TreatMissingData"] == "notBreaching"
        ((dimension,),) = [properties["Dimensions"]]
        watched[properties["MetricName"]] = [*watched.get(properties["MetricName"], []), dimension["Value"]]
    (function_id,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Runtime": "python3.14"}}
    )
    assert watched == {
        "ApproximateNumberOfMessagesVisible": [
            {"Fn::GetAtt": [logical_id_of(template, "AWS::SQS::Queue", name), "QueueName"]}
            for name in ("FailedApprovalsQueue", "UndeliveredApprovalsQueue")
        ],
        "Errors": [{"Ref": function_id}],
    }


def test_in_another_build_region_the_dead_letter_queue_has_a_stack_there(long_names_synth: Synth) -> None:
    (stack,) = [s for name, s in long_names_synth.stacks.items() if name.endswith("/UndeliveredApprovals")]
    (deploy,) = [
        s
        for name, s in long_names_synth.stacks.items()
        if name.endswith("/ModelDeploy") and name.startswith(stack.display_name.rsplit("/", 1)[0])
    ]
    assert (stack.account, stack.region) == (TOOLING_ACCOUNT, "eu-west-1")
    assert (deploy.account, deploy.region) == (TOOLING_ACCOUNT, "us-east-1")
    template = Template.from_json(stack.template)
    template.resource_count_is("AWS::SQS::Queue", 1)
    template.resource_count_is("AWS::CloudWatch::Alarm", 1)
    (queue,) = template.find_resources("AWS::SQS::Queue").values()
    (subscription,) = Template.from_json(deploy.template).find_resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Region"] == "eu-west-1"
    assert subscription["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] == (
        f"arn:aws:sqs:eu-west-1:{TOOLING_ACCOUNT}:{queue['Properties']['QueueName']}"
    )
    assert not Template.from_json(deploy.template).find_resources(
        "AWS::SQS::Queue", {"Properties": {"QueueName": queue["Properties"]["QueueName"]}}
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


def test_each_groups_approval_reaches_its_own_three_targets() -> None:
    """An approval is its own group's only: the experiment group's plan carries it to its three targets,
    every other group's plan stays without a model (the approved synth shows a plan's model becoming
    real endpoint stacks in its targets' accounts)."""
    settings = load_settings(seedfarmer_environment(extra=approved_model_environment(EXPERIMENT)))
    models = {plan.name: plan.approved_model for plan in settings.groups}
    assert models.pop(EXPERIMENT) is not None
    assert set(models.values()) == {None}
    (experiment,) = [plan for plan in settings.groups if plan.name == EXPERIMENT]
    assert [(t.name, t.account) for t in experiment.targets] == [
        ("experiment-env1", "123456789012"),
        ("experiment-env2", "123456789013"),
        ("experiment-env3", "123456789014"),
    ]


def _group(
    deploy_order: str, environments: Sequence[tuple[str, str, bool | None]]
) -> DeploymentGroupSettings:
    """A group whose build environment is dev and whose deploy environments are (name, type, approval)."""
    return DeploymentGroupSettings.model_validate(
        {
            "name": "g",
            "sourceBranch": "main",
            "deployOrder": deploy_order,
            "buildEnvironment": {
                "name": "build",
                "account": "100000000000",
                "region": "us-east-1",
                "type": "dev",
            },
            "deployEnvironments": [
                {"name": name, "account": f"{200000000000 + n}", "type": kind}
                | ({} if approval is None else {"requireApproval": approval})
                for n, (name, kind, approval) in enumerate(environments)
            ],
        }
    )


def _shape(group: DeploymentGroupSettings) -> list[tuple[str | None, bool, list[str]]]:
    return [(w.name, w.needs_approval, [t.name for t in w.targets]) for w in deploy_waves(group)]


def test_waves_go_by_type_and_approval_whatever_order_the_manifest_lists() -> None:
    group = _group(
        "byType",
        [
            ("p", "prod", None),
            ("q", "preprod", True),
            ("r", "preprod", None),
            ("d", "dev", None),
            ("u", "prod", False),
        ],
    )
    assert _shape(group) == [
        ("dev", False, ["build", "d"]),
        ("preprod", False, ["r"]),
        ("preprod-approved", True, ["q"]),
        ("prod", False, ["u"]),
        ("prod-approved", True, ["p"]),
    ]
    assert _shape(group.model_copy(update={"deploy_order": DeployOrder.SEQUENTIAL})) == [
        (None, False, ["build"]),
        (None, True, ["p"]),
        (None, True, ["q"]),
        (None, False, ["r"]),
        (None, False, ["d"]),
        (None, False, ["u"]),
    ]


def test_a_wave_too_wide_for_one_stage_continues_in_the_next() -> None:
    """CodePipeline allows 50 actions per stage; each environment takes three, an approval one."""
    group = _group(
        "byType", [(f"d{n}", "dev", None) for n in range(30)] + [(f"p{n}", "prod", None) for n in range(30)]
    )
    assert [(name, approval, len(targets)) for name, approval, targets in _shape(group)] == [
        ("dev", False, 16),
        ("dev-2", False, 15),
        ("prod", True, 16),
        ("prod-2", True, 14),
    ]
