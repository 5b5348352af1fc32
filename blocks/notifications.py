"""Notifications: the team hears that a pipeline failed, an approval waits, or a training run failed.

Tooling account, tooling region (:class:`Notifications`, in the module's top stack, only when the
``notifications`` parameter is given): one SNS topic under its own key, or the user's topic instead, and
a CodeStar Notifications rule per module pipeline (:meth:`Notifications.add_pipeline_rule`) for failed
executions and manual approvals waiting; a Slack channel configuration of Amazon Q Developer in chat
applications is a target of each rule too. Failed trainings reach the topic from the build accounts by
EventBridge rules (:mod:`blocks.training_failures`).

A stage that fails because the smoke test found a rollback is a failed pipeline execution like any other:
CodePipeline has no rollback event type, so the failure rule covers it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codestarnotifications as notifications
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from blocks import cdk_values
from blocks.storage import customer_managed_key
from blocks.training_failures import EVENTBRIDGE, rule_arn
from names import HASH_LENGTH, SNS_TOPIC, bounded, short_hash

# Event type ids of CodePipeline notification rules (Developer Tools console User Guide, "Notification
# concepts", events for pipelines). https://docs.aws.amazon.com/dtconsole/latest/userguide/concepts.html
PIPELINE_EXECUTION_FAILED = "codepipeline-pipeline-pipeline-execution-failed"
MANUAL_APPROVAL_NEEDED = "codepipeline-pipeline-manual-approval-needed"
PIPELINE_EVENTS = (PIPELINE_EXECUTION_FAILED, MANUAL_APPROVAL_NEEDED)

NOTIFICATION_RULE_NAME = 64
"""CodeStar Notifications: 1-64 of letters, digits, ``-``, ``_`` and spaces."""
CODESTAR_NOTIFICATIONS = "codestar-notifications.amazonaws.com"


# --- names ---------------------------------------------------------------------------------------------


def topic_name(stack_name: str) -> str:
    """The module's notification topic, one per deployment of the module."""
    return bounded(f"{stack_name}-notifications", SNS_TOPIC)


def notification_rule_name(pipeline_name: str) -> str:
    """A pipeline's CodeStar notification rule: unique per account, like the pipeline's own name.

    Too long, it keeps the name's end (group and pipeline kind; the beginning is the module's prefix,
    the same for every pipeline) after a hash of the whole.
    """
    name = re.sub(r"[^A-Za-z0-9_ -]", "-", f"{pipeline_name}-notify")
    if len(name) <= NOTIFICATION_RULE_NAME:
        return name
    tail = name[-(NOTIFICATION_RULE_NAME - HASH_LENGTH - 1) :].lstrip("-")
    return f"{short_hash(name)}-{tail}"


# --- tooling account: topic and pipeline rules --------------------------------------------------------


class Notifications(Construct):
    """Where the module's notifications go: the module's topic (or the user's) and a Slack channel.

    With ``topic_arn`` the module creates no topic and no key. The user's topic must be a standard topic
    in the tooling account and region, and allow what the module's own topic allows:

    - ``codestar-notifications.amazonaws.com`` ``sns:Publish``, condition ``aws:SourceAccount`` = the
      tooling account (the pipeline rules);
    - ``events.amazonaws.com`` ``sns:Publish``, condition ``aws:SourceArn`` = each group's
      :func:`blocks.training_failures.topic_rule_name` rule in the tooling account and region (training
      failures);
    - if it is encrypted with a customer managed key, that key's policy: ``kms:GenerateDataKey*`` and
      ``kms:Decrypt`` for ``codestar-notifications.amazonaws.com`` with ``kms:ViaService`` =
      ``sns.<tooling region>.amazonaws.com``, and for ``events.amazonaws.com`` with no source condition
      (EventBridge's KMS calls carry none). A topic under the AWS managed key ``alias/aws/sns`` cannot
      receive either: that key's policy cannot be changed.

    ``slack_channel_configuration_arn`` is a target of every pipeline rule: CodeStar Notifications
    connects it to the rule itself. An existing chat configuration receives only what a rule targets or
    what is published to a topic it subscribes to, so training failures reach Slack only once the user
    adds the module's topic (:attr:`topic_arn`) to that configuration's SNS topics; the module does not
    change a configuration it does not own. Pipeline events then reach that channel twice if the topic is
    also a rule target (emails or ``topic_arn`` given).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic_name: str,
        emails: Sequence[str] = (),
        topic_arn: str | None = None,
        slack_channel_configuration_arn: str | None = None,
        training_rule_names: Sequence[str] = (),
    ) -> None:
        """``training_rule_names``: each group's ``topic_rule_name``, the rules that may publish.

        ``topic_name`` names the module's own topic; unused with ``topic_arn``.
        """
        super().__init__(scope, construct_id)
        if not (emails or topic_arn or slack_channel_configuration_arn):
            raise ValueError("Notifications needs emails, a topic ARN or a Slack channel configuration ARN")
        stack = cdk.Stack.of(self)
        self.slack_channel_configuration_arn = slack_channel_configuration_arn
        self.key: kms.Key | None = None
        self.topic: sns.ITopic
        if topic_arn is None:
            self.topic_arn = f"arn:{stack.partition}:sns:{stack.region}:{stack.account}:{topic_name}"
            self.topic = self._own_topic(topic_name, training_rule_names)
        else:
            self.topic_arn = topic_arn
            self.topic = sns.Topic.from_topic_arn(self, "Topic", topic_arn)
        self.targets_topic = bool(emails or topic_arn)
        """Whether pipeline rules publish to the topic: only when someone is known to read it."""
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    def _own_topic(self, name: str, training_rule_names: Sequence[str]) -> sns.Topic:
        stack = cdk.Stack.of(self)
        # Not retained: SNS keeps no message once delivered, so nothing is left for the key to open.
        self.key = customer_managed_key(self, "TopicKey", description=f"Encrypts {name}", retain=False)
        # CodeStar Notifications publishes through SNS, which uses the key on its behalf (Developer Tools
        # console User Guide, "Configure Amazon SNS topics for notifications", encrypted topics).
        # https://docs.aws.amazon.com/dtconsole/latest/userguide/set-up-sns.html
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CodeStarNotificationsPublishEncrypted",
                principals=[cdk_values.service_principal(CODESTAR_NOTIFICATIONS)],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"kms:ViaService": f"sns.{stack.region}.amazonaws.com"}},
            )
        )
        topic = sns.Topic(self, "Topic", topic_name=name, master_key=self.key, enforce_ssl=True)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CodeStarNotificationsPublish",
                principals=[cdk_values.service_principal(CODESTAR_NOTIFICATIONS)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        if training_rule_names:
            # "Adding the aws:SourceAccount and aws:SourceArn to a AWS KMS policy is not supported for
            # EventBridge-to-encrypted topics" (SNS Developer Guide, "Key management", compatibility with
            # AWS services): the key serves this topic only; the topic policy names the rules.
            # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="EventBridgePublishesEncrypted",
                    principals=[cdk_values.service_principal(EVENTBRIDGE)],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=["*"],
                )
            )
            rules = [rule_arn(stack.account, stack.region, rule) for rule in sorted(training_rule_names)]
            topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="EventBridgePublishesTrainingFailures",
                    principals=[cdk_values.service_principal(EVENTBRIDGE)],
                    actions=["sns:Publish"],
                    resources=[topic.topic_arn],
                    conditions={"ArnEquals": {"aws:SourceArn": rules}},
                )
            )
        return topic

    def add_pipeline_rule(
        self, pipeline: codepipeline.IPipeline, *, pipeline_name: str
    ) -> notifications.NotificationRule:
        """Failed executions and manual approvals waiting of ``pipeline``, in the pipeline's own stack.

        The pipeline may be in another stack or Stage of the tooling account and region: the targets are
        imported there by ARN. ``pipeline_name`` is its fixed name, from which the rule's name comes.
        """
        # Below the pipeline, or beside it for an imported one (an interface, not a Construct).
        parent = pipeline if isinstance(pipeline, Construct) else cdk.Stack.of(pipeline)
        scope = Construct(
            parent, "Notifications" if parent is pipeline else f"{pipeline.node.id}Notifications"
        )
        targets: list[notifications.INotificationRuleTarget] = []
        if self.targets_topic:
            # Imported even in the topic's own stack: binding the topic construct would add an
            # unconditioned publish statement and key grant for CodeStar Notifications.
            targets.append(sns.Topic.from_topic_arn(scope, "Topic", self.topic_arn))
        if self.slack_channel_configuration_arn:
            targets.append(
                chatbot.SlackChannelConfiguration.from_slack_channel_configuration_arn(
                    scope, "SlackChannel", self.slack_channel_configuration_arn
                )
            )
        rule = notifications.NotificationRule(
            scope,
            "Rule",
            notification_rule_name=notification_rule_name(pipeline_name),
            source=pipeline,
            events=list(PIPELINE_EVENTS),
            targets=targets,
            detail_type=notifications.DetailType.FULL,
        )
        if self.targets_topic and self.key is not None and cdk.Stack.of(pipeline) is cdk.Stack.of(self):
            # By ARN no reference orders them: the topic (and its policy) first. Other stacks of the
            # tooling account deploy after this one, which seedfarmer deploys before the infra pipeline runs.
            rule.node.add_dependency(self.topic)
        return rule
