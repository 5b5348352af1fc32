"""Tooling account: where an approval goes when the trigger cannot take it, so none is lost unseen.

Two failures, two catchers, each an encrypted queue with an alarm on its first message. SNS delivers to
the trigger in the build region; an approval it cannot deliver (the function missing, throttled past
SNS's retries, or not permitted) goes to the subscription's dead-letter queue, which SNS requires in the
subscriber's account and the topic's region. An approval the function received but failed on (an AWS
call that kept failing through Lambda's two retries) goes to the function's on-failure destination, in
the function's region. The README says how to replay either.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from blocks import cdk_values
from blocks.nag import acknowledge
from blocks.storage import customer_managed_key
from names import GroupNames

RETENTION = cdk.Duration.days(14)  # SQS's longest: time to notice the alarm and replay


class ApprovalQueue(Construct):
    """An encrypted, TLS-only queue under its own key, and an alarm when a message is waiting in it."""

    def __init__(self, scope: Construct, construct_id: str, *, queue_name: str, purpose: str) -> None:
        super().__init__(scope, construct_id)
        # Not retained: its messages go with the queue, and a key kept for nothing still costs.
        self.key: kms.Key = customer_managed_key(self, "Key", description=f"Encrypts {purpose}", retain=False)
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=queue_name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=RETENTION,
        )
        acknowledge(
            self.queue,
            {"SQS3": "This queue is itself where failed approvals end; a person reads and replays them."},
        )
        self.alarm = cloudwatch.Alarm(
            self,
            "Waiting",
            alarm_name=f"{queue_name}-waiting",
            alarm_description=f"An approval is waiting to be replayed (see the README): {purpose}",
            metric=self.queue.metric_approximate_number_of_messages_visible(
                period=cdk_values.minutes(5), statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )


def undelivered_approvals(scope: Construct, names: GroupNames, topic_arn: str) -> ApprovalQueue:
    """The subscription's dead-letter queue; only SNS, for the group's approval topic, may use it."""
    catcher = ApprovalQueue(
        scope,
        "UndeliveredApprovals",
        queue_name=names.undelivered_approvals_queue,
        purpose="approvals SNS could not deliver to the approval trigger",
    )
    sns = cdk_values.service_principal("sns.amazonaws.com")
    # Queue policy as https://docs.aws.amazon.com/sns/latest/dg/sns-configure-dead-letter-queue.html sets it.
    catcher.queue.add_to_resource_policy(
        iam.PolicyStatement(
            sid="ApprovalTopicSendsUndelivered",
            principals=[sns],
            actions=["sqs:SendMessage"],
            resources=[catcher.queue.queue_arn],
            conditions={"ArnEquals": {"aws:SourceArn": topic_arn}},
        )
    )
    # Key policy for SNS as https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
    catcher.key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="ApprovalTopicEncryptsUndelivered",
            principals=[sns],
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resources=["*"],
            conditions={"ArnEquals": {"aws:SourceArn": topic_arn}},
        )
    )
    return catcher


def failed_approvals(scope: Construct, names: GroupNames, role: iam.IRole) -> ApprovalQueue:
    """The trigger's on-failure destination; Lambda sends to it as the function's role."""
    catcher = ApprovalQueue(
        scope,
        "FailedApprovals",
        queue_name=names.failed_approvals_queue,
        purpose="approvals the approval trigger failed on after Lambda's retries",
    )
    # Written out rather than grant_send_messages, which adds kms:Encrypt, kms:ReEncrypt* and wildcards.
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="SendFailedApprovals", actions=["sqs:SendMessage"], resources=[catcher.queue.queue_arn]
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="EncryptFailedApprovals",
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resources=[catcher.key.key_arn],
        )
    )
    return catcher
