"""Build account: the approval topic EventBridge feeds when a version is approved, and its dead letters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces.aws_events import IRuleRef

from blocks import cdk_values
from blocks.nag import acknowledge
from blocks.storage import customer_managed_key, removal_policy
from names import GroupNames

if TYPE_CHECKING:
    from stages.build_support import BuildSupportStack

APPROVAL_EVENT_DETAIL_TYPE = "SageMaker Model Package State Change"


@jsii.implements(events.IRuleTarget)
class _TopicTarget:
    """Send events to a topic whose policy this stack writes itself, with a source-ARN condition.

    What EventBridge cannot deliver (after its retries) goes to ``dead_letter_queue`` instead of vanishing.
    """

    def __init__(self, topic: sns.ITopic, dead_letter_queue: sqs.IQueue) -> None:
        self._topic = topic
        self._dead_letter_queue = dead_letter_queue

    def bind(self, rule: IRuleRef, _id: str | None = None) -> events.RuleTargetConfig:
        # Each read is a jsii round trip: read once, used twice.
        topic_arn, queue_arn = self._topic.topic_arn, self._dead_letter_queue.queue_arn
        rule_arn = rule.rule_ref.rule_arn
        self._topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgePublishesApprovals",
                principals=[cdk_values.service_principal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
            )
        )
        self._dead_letter_queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeKeepsUndeliveredApprovals",
                principals=[cdk_values.service_principal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
            )
        )
        return events.RuleTargetConfig(
            arn=topic_arn,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=queue_arn),
        )


def approval_topic(
    stack: BuildSupportStack, names: GroupNames, tooling: str, tooling_region: str
) -> sns.Topic:
    """Approved versions of this group's models, for the tooling account's deploy trigger."""
    key = customer_managed_key(
        stack,
        "ApprovalTopicKey",
        description=f"Encrypts {names.approval_topic} and its dead-letter queue",
        retain=stack.retain,
    )
    # With the AWS-managed SNS key EventBridge cannot publish, and approvals would vanish silently.
    # No source condition: "Adding the aws:SourceAccount and aws:SourceArn to a AWS KMS policy is not
    # supported for EventBridge-to-encrypted topics" (SNS Developer Guide, key management). The key
    # serves this topic and its dead-letter queue only, and the topic policy keeps aws:SourceArn.
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="EventBridgePublishesEncrypted",
            principals=[cdk_values.service_principal("events.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
        )
    )
    topic = sns.Topic(
        stack,
        "ApprovalTopic",
        topic_name=names.approval_topic,
        master_key=key,
        enforce_ssl=True,
    )
    trigger_function = names.approval_trigger_function
    trigger = f"arn:{cdk_values.partition()}:lambda:{tooling_region}:{tooling}:function:{trigger_function}"
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="ToolingAccountSubscribesItsTrigger",
            principals=[cdk_values.account_principal(tooling)],
            actions=["sns:Subscribe"],
            resources=[topic.topic_arn],
            conditions={"StringEquals": {"sns:Protocol": "lambda", "sns:Endpoint": trigger}},
        )
    )
    rule = events.Rule(
        stack,
        "ModelApprovedRule",
        description=f"Approved versions of {names.model_package_group}",
        event_pattern=events.EventPattern(
            source=["aws.sagemaker"],
            detail_type=[APPROVAL_EVENT_DETAIL_TYPE],
            detail={
                "ModelPackageGroupName": [names.model_package_group],
                "ModelApprovalStatus": ["Approved"],
            },
        ),
    )
    dead_letters = _approval_dead_letter_queue(stack, key)
    rule.add_target(_TopicTarget(topic, dead_letters))
    cloudwatch.Alarm(
        stack,
        "ApprovalDeliveryFailed",
        alarm_description=(
            f"EventBridge could not deliver an approval of {names.model_package_group} to its topic; "
            "the event is kept in this stack's ApprovalDeadLetterQueue"
        ),
        metric=cloudwatch.Metric(
            namespace="AWS/Events",
            metric_name="FailedInvocations",
            dimensions_map={"RuleName": rule.rule_name},
            statistic="Sum",
            period=cdk_values.minutes(5),
        ),
        threshold=0,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    return topic


def _approval_dead_letter_queue(stack: BuildSupportStack, key: kms.IKey) -> sqs.Queue:
    """Approval events EventBridge gave up on, kept 14 days for a replay (README, deploy path).

    EventBridge requires the queue in the rule's account and region; it encrypts with the topic's key,
    which already lets EventBridge use it.
    """
    queue = sqs.Queue(
        stack,
        "ApprovalDeadLetterQueue",
        # A generated name: a retained queue under a fixed name would block the redeploy after a destroy.
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=cdk_values.days(14),
        removal_policy=removal_policy(stack.retain),
    )
    acknowledge(queue, {"SQS3": "This queue is itself the dead-letter queue of the approval rule."})
    return queue
