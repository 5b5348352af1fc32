"""Failed trainings, sent from the build account to the module's notification topic in the tooling account.

SageMaker pipelines fail in build accounts, whose events no tooling-account rule sees. EventBridge
delivers to another account's event bus only within one region, and with a role in the sending account,
so per group (each function below runs in one account and region):

- build account, build region: :func:`forward_training_failures` sends the group's failed executions to the
  tooling account's default bus in the build region;
- tooling account, build region, when that is not the tooling region: :func:`relay_training_failures`
  accepts them there and sends them on to the tooling account's default bus in the tooling region;
- tooling account, tooling region: :func:`notify_training_failures` accepts them (same region) and sends
  them to the topic (:class:`blocks.notifications.Notifications`, whose policy names each group's
  :func:`topic_rule_name`).

The rules' names are fixed, so a policy in another stack or account names them before they exist.
"""

from __future__ import annotations

import aws_cdk as cdk
import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

from blocks import cdk_values
from names import GroupNames, bounded

# SageMaker's event for a pipeline execution's status (SageMaker Developer Guide, "Automating SageMaker AI
# with Amazon EventBridge": pipeline execution status change, detail.pipelineArn and
# detail.currentPipelineExecutionStatus). https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html
TRAINING_STATUS_DETAIL_TYPE = "SageMaker Model Building Pipeline Execution Status Change"

EVENTS_RULE_NAME = 64
"""EventBridge rule names and event bus policy statement ids: 1-64 characters."""
EVENTBRIDGE = "events.amazonaws.com"


# --- names ---------------------------------------------------------------------------------------------


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
    return f"arn:{cdk_values.partition()}:events:{region}:{account}:event-bus/default"


def rule_arn(account: str, region: str, rule_name: str) -> str:
    """A rule by its fixed name, as a policy's ``aws:SourceArn`` names it."""
    return f"arn:{cdk_values.partition()}:events:{region}:{account}:rule/{rule_name}"


def training_pipeline_arn(names: GroupNames) -> str:
    """The group's SageMaker pipeline, as its events name it (lowercase, as its name is)."""
    return (
        f"arn:{cdk_values.partition()}:sagemaker:{names.build_region}:{names.build_account}"
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


# --- rules along the way ------------------------------------------------------------------------------


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
        scope, construct_id, assumed_by=cdk_values.service_principal(EVENTBRIDGE), description=description
    )
    role.add_to_policy(
        iam.PolicyStatement(sid="PutOnOneBus", actions=["events:PutEvents"], resources=[bus_arn])
    )
    return role


def _failed_training_rule(
    scope: Construct, construct_id: str, *, names: GroupNames, rule_name: str, onward: str
) -> events.Rule:
    """One rule along the way: the group's failed trainings, matched alike on every bus, sent ``onward``."""
    return events.Rule(
        scope,
        construct_id,
        rule_name=rule_name,
        description=f"Failed executions of {names.sagemaker_pipeline}, {onward}",
        event_pattern=training_failed_pattern(names),
    )


def forward_training_failures(
    scope: Construct, *, names: GroupNames, tooling_account: str
) -> events.Rule | None:
    """Build account, build region: failed executions of the group's pipeline to the tooling account.

    Nothing when the build account is the tooling account: the events are on its bus already.
    """
    if names.build_account == tooling_account:
        return None
    bus = default_bus_arn(tooling_account, names.build_region)
    rule = _failed_training_rule(
        scope,
        "TrainingFailedRule",
        names=names,
        rule_name=forwarding_rule_name(names),
        onward="to the tooling account",
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
    source = rule_arn(names.build_account, names.build_region, forwarding_rule_name(names))
    return events.CfnEventBusPolicy(
        scope,
        "AcceptTrainingFailures",
        event_bus_name="default",
        statement_id=forwarding_rule_name(names),
        statement={
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{cdk_values.partition()}:iam::{names.build_account}:root"},
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
    rule = _failed_training_rule(
        scope,
        "TrainingFailedRelay",
        names=names,
        rule_name=relay_rule_name(names),
        onward=f"on to {tooling_region}",
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
    rule = _failed_training_rule(
        scope,
        "TrainingFailedNotify",
        names=names,
        rule_name=topic_rule_name(names),
        onward="to the notification topic",
    )
    rule.add_target(_ArnTarget(topic_arn))
    return rule
