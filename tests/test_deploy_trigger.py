"""The approval trigger's infrastructure (stages/deploy_trigger.py): subscribed to its build account's topic,
allowed only to record the model and start its pipeline. Its code: test_approval_trigger.py."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match, Template

from tests.conftest import Synth
from tests.template_harness import PROD, logical_id_of


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
