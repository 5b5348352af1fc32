"""The approval topic and its rule (stages/approval_events.py): encrypted, delivered or queued, subscribed
only by the group's trigger."""

from __future__ import annotations

from aws_cdk.assertions import Match

from tests.conftest import TOOLING_ACCOUNT, Synth
from tests.template_harness import PROD_NAMES, account_root, resources, statements_by_sid, template


def test_approval_topic_is_encrypted_with_a_key_eventbridge_can_use(example_synth: Synth) -> None:
    support = template(example_synth, "prod-deployment-group/BuildSupport")
    support.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    support.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "events.amazonaws.com"}})]
                )
            }
        },
    )
    support.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Action": "sns:Subscribe", "Principal": {"AWS": account_root(TOOLING_ACCOUNT)}}
                        ),
                        Match.object_like(
                            {
                                "Action": "sns:Publish",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Condition": {"ArnEquals": {"aws:SourceArn": Match.any_value()}},
                            }
                        ),
                    ]
                )
            }
        },
    )
    support.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Model Package State Change"],
                "detail": {
                    "ModelPackageGroupName": [Match.string_like_regexp("-models$")],
                    "ModelApprovalStatus": ["Approved"],
                },
            }
        },
    )


def test_approval_delivery_cannot_fail_silently(example_synth: Synth) -> None:
    """EventBridge sends no source keys to KMS for an encrypted topic; what fails lands in a queue."""
    suffix = "prod-deployment-group/BuildSupport"
    keys = resources(example_synth, suffix, "AWS::KMS::Key")
    topic_key = next(k for logical_id, k in keys.items() if logical_id.startswith("ApprovalTopicKey"))
    events_use = statements_by_sid(topic_key["KeyPolicy"])["EventBridgePublishesEncrypted"]
    assert events_use["Principal"] == {"Service": "events.amazonaws.com"}
    assert "Condition" not in events_use
    (rule,) = resources(example_synth, suffix, "AWS::Events::Rule").values()
    (target,) = rule["Targets"]
    (queue_id,) = resources(example_synth, suffix, "AWS::SQS::Queue")
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    queue = resources(example_synth, suffix, "AWS::SQS::Queue")[queue_id]
    topic_key_id = next(i for i in keys if i.startswith("ApprovalTopicKey"))
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [topic_key_id, "Arn"]}
    (alarm,) = resources(example_synth, suffix, "AWS::CloudWatch::Alarm").values()
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Events", "FailedInvocations")
    assert alarm["Threshold"] == 0


def test_tooling_account_may_subscribe_only_its_trigger(example_synth: Synth) -> None:
    (policy,) = resources(
        example_synth, "prod-deployment-group/BuildSupport", "AWS::SNS::TopicPolicy"
    ).values()
    subscribe = statements_by_sid(policy["PolicyDocument"])["ToolingAccountSubscribesItsTrigger"]
    endpoint = subscribe["Condition"]["StringEquals"]["sns:Endpoint"]["Fn::Join"][1][2]
    assert endpoint == f":lambda:us-east-1:{TOOLING_ACCOUNT}:function:{PROD_NAMES.approval_trigger_function}"
    assert subscribe["Condition"]["StringEquals"]["sns:Protocol"] == "lambda"
