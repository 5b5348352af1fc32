"""Notifications: the team hears that a pipeline failed, an approval waits, or a training run failed.

Tooling account, tooling region (:class:`Notifications`, in the module's top stack, only when the
``notifications`` parameter is given): one SNS topic under its own key, or the user's topic instead, and
a CodeStar Notifications rule per module pipeline (:meth:`Notifications.add_pipeline_rule`) for failed
executions and manual approvals waiting; a Slack channel configuration of Amazon Q Developer in chat
applications is a target of each rule too.

SageMaker pipelines fail in build accounts, whose events no tooling-account rule sees. EventBridge
delivers to another account's event bus only within one region, and with a role in the sending account,
so per group (each function below runs in one account and region):

- build account, build region: :func:`forward_training_failures` sends the group's failed executions to the
  tooling account's default bus in the build region;
- tooling account, build region, when that is not the tooling region: :func:`relay_training_failures`
  accepts them there and sends them on to the tooling account's default bus in the tooling region;
- tooling account, tooling region: :func:`notify_training_failures` accepts them (same region) and sends
  them to the topic.

A stage that fails because the smoke test found a rollback is a failed pipeline execution like any other:
CodePipeline has no rollback event type, so the failure rule covers it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import aws_cdk as cdk
import jsii
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codestarnotifications as notifications
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

from blocks.storage import customer_managed_key
from names import HASH_LENGTH, SNS_TOPIC, GroupNames, bounded, short_hash

# Event type ids of CodePipeline notification rules (Developer Tools console User Guide, "Notification
# concepts", events for pipelines). https://docs.aws.amazon.com/dtconsole/latest/userguide/concepts.html
PIPELINE_EXECUTION_FAILED = "codepipeline-pipeline-pipeline-execution-failed"
MANUAL_APPROVAL_NEEDED = "codepipeline-pipeline-manual-approval-needed"
PIPELINE_EVENTS = (PIPELINE_EXECUTION_FAILED, MANUAL_APPROVAL_NEEDED)

# SageMaker's event for a pipeline execution's status (SageMaker Developer Guide, "Automating SageMaker AI
# with Amazon EventBridge": pipeline execution status change, detail.pipelineArn and
# detail.currentPipelineExecutionStatus). https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html
TRAINING_STATUS_DETAIL_TYPE = "SageMaker Model Building Pipeline Execution Status Change"

NOTIFICATION_RULE_NAME = 64
"""CodeStar Notifications: 1-64 of letters, digits, ``-``, ``_`` and spaces."""
EVENTS_RULE_NAME = 64
"""EventBridge rule names and event bus policy statement ids: 1-64 characters."""

CODESTAR_NOTIFICATIONS = "codestar-notifications.amazonaws.com"
EVENTBRIDGE = "events.amazonaws.com"


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


def _group_rule(names: GroupNames, suffix: str) -> str:
    # The prefix gives way, never the suffix: the name says what the rule does.
    return f"{bounded(names.prefix, EVENTS_RULE_NAME - len(suffix) - 1)}-{suffix}"


def forwarding_rule_name(names: GroupNames) -> str:
    """Build account: the rule that sends the group's failed executions to the tooling account.

    Fixed, so the tooling account's bus policy can name it before it exists.
    """
    return _group_rule(names, "training-failed")


def relay_rule_name(names: GroupNames) -> str:
    """Tooling account, build region: the rule that passes them on to the tooling region."""
    return _group_rule(names, "training-failed-relay")


def topic_rule_name(names: GroupNames) -> str:
    """Tooling account, tooling region: the rule that publishes them to the topic.

    Fixed, so the topic's policy (another stack) names it.
    """
    return _group_rule(names, "training-failed-notify")


def default_bus_arn(account: str, region: str) -> str:
    """The bus AWS services send their events to, in every account and region."""
    return f"arn:{cdk.Aws.PARTITION}:events:{region}:{account}:event-bus/default"


def _rule_arn(account: str, region: str, rule_name: str) -> str:
    return f"arn:{cdk.Aws.PARTITION}:events:{region}:{account}:rule/{rule_name}"


def training_pipeline_arn(names: GroupNames) -> str:
    """The group's SageMaker pipeline, as its events name it (lowercase, as its name is)."""
    return (
        f"arn:{cdk.Aws.PARTITION}:sagemaker:{names.build_region}:{names.build_account}"
        f":pipeline/{names.sagemaker_pipeline}"
    )


def training_failed_pattern(names: GroupNames) -> events.EventPattern:
    """Failed executions of the group's one SageMaker pipeline, wherever the event has travelled.

    A forwarded event keeps its fields, so the same pattern matches on every bus on its way.
    """
    return events.EventPattern(
        source=["aws.sagemaker"],
        detail_type=[TRAINING_STATUS_DETAIL_TYPE],
        detail={
            "pipelineArn": [training_pipeline_arn(names)],
            "currentPipelineExecutionStatus": ["Failed"],
        },
    )


# --- tooling account: topic and pipeline rules --------------------------------------------------------


class Notifications(Construct):
    """Where the module's notifications go: the module's topic (or the user's) and a Slack channel.

    With ``topic_arn`` the module creates no topic and no key. The user's topic must be a standard topic
    in the tooling account and region, and allow what the module's own topic allows:

    - ``codestar-notifications.amazonaws.com`` ``sns:Publish``, condition ``aws:SourceAccount`` = the
      tooling account (the pipeline rules);
    - ``events.amazonaws.com`` ``sns:Publish``, condition ``aws:SourceArn`` = each group's
      :func:`topic_rule_name` rule in the tooling account and region (training failures);
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
        """``training_rule_names``: each group's :func:`topic_rule_name`, the rules that may publish.

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
                principals=[iam.ServicePrincipal(CODESTAR_NOTIFICATIONS)],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"kms:ViaService": f"sns.{stack.region}.amazonaws.com"}},
            )
        )
        topic = sns.Topic(self, "Topic", topic_name=name, master_key=self.key, enforce_ssl=True)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CodeStarNotificationsPublish",
                principals=[iam.ServicePrincipal(CODESTAR_NOTIFICATIONS)],
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
                    principals=[iam.ServicePrincipal(EVENTBRIDGE)],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=["*"],
                )
            )
            rules = [_rule_arn(stack.account, stack.region, rule) for rule in sorted(training_rule_names)]
            topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="EventBridgePublishesTrainingFailures",
                    principals=[iam.ServicePrincipal(EVENTBRIDGE)],
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


# --- training failures across accounts and regions ----------------------------------------------------


@jsii.implements(events.IRuleTarget)
class _ArnTarget:
    """A target by ARN, whose resource policy another stack (or account) writes."""

    def __init__(self, arn: str, role: iam.IRole | None = None) -> None:
        self._arn = arn
        self._role = role

    def bind(self, _rule: IRuleRef, _id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._arn, role=self._role)


def _bus_role(scope: Construct, construct_id: str, bus_arn: str, description: str) -> iam.Role:
    """The role EventBridge uses to put events on a bus of another account or region.

    "This execution role must be in the same account as the event bus" the rule is on (EventBridge User
    Guide, "Sending and receiving events between AWS accounts").
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html
    """
    role = iam.Role(
        scope, construct_id, assumed_by=iam.ServicePrincipal(EVENTBRIDGE), description=description
    )
    role.add_to_policy(
        iam.PolicyStatement(sid="PutOnOneBus", actions=["events:PutEvents"], resources=[bus_arn])
    )
    return role


def forward_training_failures(
    scope: Construct, *, names: GroupNames, tooling_account: str
) -> events.Rule | None:
    """Build account, build region: failed executions of the group's pipeline to the tooling account.

    Nothing when the build account is the tooling account: the events are on its bus already.
    """
    if names.build_account == tooling_account:
        return None
    bus = default_bus_arn(tooling_account, names.build_region)
    rule = events.Rule(
        scope,
        "TrainingFailedRule",
        rule_name=forwarding_rule_name(names),
        description=f"Failed executions of {names.sagemaker_pipeline}, to the tooling account",
        event_pattern=training_failed_pattern(names),
    )
    role = _bus_role(
        scope, "TrainingFailedForwarder", bus, "Lets EventBridge send failed trainings to the tooling account"
    )
    rule.add_target(_ArnTarget(bus, role))
    return rule


def _accept_from_build_account(scope: Construct, names: GroupNames) -> events.CfnEventBusPolicy | None:
    """The default bus of the scope's region takes the group's failures from its build account's one rule.

    The sending rule's ARN is ``aws:SourceArn`` (EventBridge User Guide, "Using IAM policy conditions in
    Amazon EventBridge"); its account is the principal.
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html
    """
    stack = cdk.Stack.of(scope)
    if names.build_account == stack.account:
        return None
    source = _rule_arn(names.build_account, names.build_region, forwarding_rule_name(names))
    return events.CfnEventBusPolicy(
        scope,
        "AcceptTrainingFailures",
        event_bus_name="default",
        statement_id=forwarding_rule_name(names),
        statement={
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{cdk.Aws.PARTITION}:iam::{names.build_account}:root"},
            "Action": "events:PutEvents",
            "Resource": default_bus_arn(stack.account, stack.region),
            "Condition": {"ArnEquals": {"aws:SourceArn": source}},
        },
    )


def relay_training_failures(scope: Construct, *, names: GroupNames, tooling_region: str) -> events.Rule:
    """Tooling account, build region (not the tooling region): the failures on to the tooling region.

    Put it in a tooling-account stack in the build region. A target bus in another region needs a role
    even within one account (EventBridge User Guide, "Sending and receiving events between AWS Regions").
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html
    """
    stack = cdk.Stack.of(scope)
    if stack.region == tooling_region:
        raise ValueError("relay_training_failures belongs in the build region, not the tooling region")
    _accept_from_build_account(scope, names)
    bus = default_bus_arn(stack.account, tooling_region)
    rule = events.Rule(
        scope,
        "TrainingFailedRelay",
        rule_name=relay_rule_name(names),
        description=f"Failed executions of {names.sagemaker_pipeline}, on to {tooling_region}",
        event_pattern=training_failed_pattern(names),
    )
    rule.add_target(
        _ArnTarget(
            bus,
            _bus_role(scope, "TrainingFailedRelayRole", bus, f"Relays failed trainings to {tooling_region}"),
        )
    )
    return rule


def notify_training_failures(scope: Construct, *, names: GroupNames, topic_arn: str) -> events.Rule:
    """Tooling account, tooling region: the group's failures, however they arrived, to the topic.

    The topic's policy allows this rule by its fixed name (:func:`topic_rule_name`).
    """
    stack = cdk.Stack.of(scope)
    if names.build_region == stack.region:
        _accept_from_build_account(scope, names)
    rule = events.Rule(
        scope,
        "TrainingFailedNotify",
        rule_name=topic_rule_name(names),
        description=f"Failed executions of {names.sagemaker_pipeline}, to the notification topic",
        event_pattern=training_failed_pattern(names),
    )
    rule.add_target(_ArnTarget(topic_arn))
    return rule
