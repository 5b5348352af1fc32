"""Approvals the trigger cannot take (stages/failed_approvals.py): encrypted queues, each with an alarm,
in the build region."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

from tests.conftest import TOOLING_ACCOUNT, Synth
from tests.template_harness import PROD, PROD_NAMES, logical_id_of


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
