"""The access proof of the notification paths, over the long-names synth (which sets ``notifications``).

Each hop of a notification is a request decided by ``access_proof`` against the rendered templates of the
stacks on the way: the top stack (topic and key), each group's build-support stack (the forwarding rule and
its role), model build stack (the rule to the topic; Y's bus policy) and X's relay stack (eu-west-1). The
request context is what the calling service sends; each allowed request has near misses that are denied.
"""

from __future__ import annotations

import pytest

from access_proof.policy import Request
from access_proof.render import Placement, render
from access_proof.world import World
from blocks.notifications import topic_name
from blocks.training_failures import forwarding_rule_name, relay_rule_name, topic_rule_name
from names import GroupNames
from tests.access_harness import allowed, denied, stack_name
from tests.conftest import LONG_NAMES_CONTEXT, LONG_PARAMETERS, TOOLING_ACCOUNT, TOOLING_REGION, Synth

TOOLING = TOOLING_ACCOUNT
OUTSIDER = "999999999999"
STACK_NAME = "-".join(str(LONG_NAMES_CONTEXT[k]) for k in ("project", "deployment", "module"))
(GROUPS,) = [p["value"] for p in LONG_PARAMETERS if p["name"] == "deployment-groups"]
(BOUNDARY,) = [p["value"] for p in LONG_PARAMETERS if p["name"] == "permissions-boundary-name"]
X, Y = (
    GroupNames(f"{STACK_NAME}-{g['name']}", g["buildEnvironment"]["account"], g["buildEnvironment"]["region"])
    for g in GROUPS
)
X_GROUP, Y_GROUP = (g["name"] for g in GROUPS)
OTHER_REGION = X.build_region
TOPIC_ARN = f"arn:aws:sns:{TOOLING_REGION}:{TOOLING}:{topic_name(STACK_NAME)}"
CODESTAR = "codestar-notifications.amazonaws.com"
EVENTS = "events.amazonaws.com"
# Calls between AWS services go over TLS, so the topic's TLS-only deny does not apply to them (IAM User
# Guide, "AWS global condition context keys": aws:SecureTransport).
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport
TLS = {"aws:SecureTransport": "true"}
SNS_VIA = f"sns.{TOOLING_REGION}.amazonaws.com"
STACKS = (
    "MlopsCicd",
    *(f"{g}/{kind}" for g in (X_GROUP, Y_GROUP) for kind in ("BuildSupport", "ModelBuild")),
)
STACKS += (f"{X_GROUP}/NotificationRelay",)


def bus(account: str, region: str) -> str:
    return f"arn:aws:events:{region}:{account}:event-bus/default"


def rule(account: str, region: str, name: str) -> str:
    return f"arn:aws:events:{region}:{account}:rule/{name}"


@pytest.fixture(scope="module")
def world(long_names_synth: Synth) -> World:
    # The boundaries (the user's permissions-boundary-name, seedfarmer's in the tooling account): assumed
    # to allow what the module needs (README).
    allow_all = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    boundaries = [
        str(LONG_NAMES_CONTEXT["extra"]["SEEDFARMER_PERMISSIONS_BOUNDARY_ARN"]),  # type: ignore[index]
        *(f"arn:aws:iam::{g['buildEnvironment']['account']}:policy/{BOUNDARY}" for g in GROUPS),
    ]
    world = World(dict.fromkeys(boundaries, allow_all))
    for suffix in STACKS:
        stack = long_names_synth.stack(suffix)
        where = Placement(stack.stack_name, stack.account, stack.region)
        world.add_template(render(stack.template, where), where)
    return world


@pytest.fixture(scope="module")
def topic_key(world: World, long_names_synth: Synth) -> str:
    return world.attribute(
        stack_name(long_names_synth, "MlopsCicd"), "AWS::KMS::Key", "NotificationsTopicKey"
    )


def forwarding_role(world: World, synth: Synth, group: str) -> str:
    return world.attribute(
        stack_name(synth, f"{group}/BuildSupport"), "AWS::IAM::Role", "TrainingFailedForwarder"
    )


# --- CodeStar Notifications: pipeline failures and approvals waiting --------------------------------------


def test_codestar_publishes_for_this_account_only_over_tls(world: World) -> None:
    # CodeStar Notifications publishes with aws:SourceAccount = the rule's account (Developer Tools console
    # User Guide, "Configure Amazon SNS topics for notifications").
    # https://docs.aws.amazon.com/dtconsole/latest/userguide/set-up-sns.html
    context = {"aws:SourceAccount": TOOLING, **TLS}
    allowed(world, Request(CODESTAR, "sns:Publish", TOPIC_ARN, context))
    denied(world, Request(CODESTAR, "sns:Publish", TOPIC_ARN, {**context, "aws:SourceAccount": OUTSIDER}))
    denied(world, Request(CODESTAR, "sns:Publish", TOPIC_ARN, {**context, "aws:SecureTransport": "false"}))
    denied(world, Request("cloudwatch.amazonaws.com", "sns:Publish", TOPIC_ARN, context))


def test_codestar_uses_the_topic_key_only_through_sns(world: World, topic_key: str) -> None:
    # SNS calls KMS for the publisher, so kms:ViaService is SNS in the topic's region (KMS Developer Guide,
    # "kms:ViaService"). https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html
    context = {"kms:ViaService": SNS_VIA, "kms:EncryptionContext:aws:sns:topicArn": TOPIC_ARN}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        allowed(world, Request(CODESTAR, action, topic_key, context))
    s3 = {**context, "kms:ViaService": f"s3.{TOOLING_REGION}.amazonaws.com"}
    denied(world, Request(CODESTAR, "kms:GenerateDataKey", topic_key, s3))
    denied(
        world,
        Request(CODESTAR, "kms:Decrypt", topic_key, {"kms:EncryptionContext:aws:sns:topicArn": TOPIC_ARN}),
    )
    denied(world, Request(CODESTAR, "kms:CreateGrant", topic_key, context))


# --- EventBridge: failed trainings ------------------------------------------------------------------------


@pytest.mark.parametrize("names", [X, Y], ids=["X", "Y"])
def test_eventbridge_publishes_only_from_the_groups_rules_in_the_tooling_region(
    world: World, names: GroupNames
) -> None:
    # EventBridge publishes to SNS as events.amazonaws.com with aws:SourceArn = the rule (EventBridge User
    # Guide, "Using resource-based policies": Amazon SNS permissions).
    # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions
    context = {
        "aws:SourceArn": rule(TOOLING, TOOLING_REGION, topic_rule_name(names)),
        "aws:SourceAccount": TOOLING,
    }
    allowed(world, Request(EVENTS, "sns:Publish", TOPIC_ARN, {**context, **TLS}))
    for near in (
        rule(TOOLING, OTHER_REGION, relay_rule_name(names)),
        rule(names.build_account, names.build_region, forwarding_rule_name(names)),
        rule(TOOLING, TOOLING_REGION, "someone-elses-rule"),
    ):
        denied(world, Request(EVENTS, "sns:Publish", TOPIC_ARN, {**context, **TLS, "aws:SourceArn": near}))


def test_eventbridge_may_use_the_topic_key_without_source_keys(world: World, topic_key: str) -> None:
    # For EventBridge to a topic under a customer managed key, SNS supports no aws:SourceAccount or
    # aws:SourceArn in the key policy (SNS Developer Guide, "Key management", compatibility with services).
    # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    context = {"kms:EncryptionContext:aws:sns:topicArn": TOPIC_ARN}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        allowed(world, Request(EVENTS, action, topic_key, context))
    denied(world, Request("s3.amazonaws.com", "kms:GenerateDataKey", topic_key, context))
    denied(world, Request(EVENTS, "kms:ScheduleKeyDeletion", topic_key, context))


def test_eventbridge_assumes_the_forwarding_and_relay_roles(world: World, long_names_synth: Synth) -> None:
    relay = world.attribute(
        stack_name(long_names_synth, f"{X_GROUP}/NotificationRelay"),
        "AWS::IAM::Role",
        "TrainingFailedRelayRole",
    )
    for role in (*(forwarding_role(world, long_names_synth, g) for g in (X_GROUP, Y_GROUP)), relay):
        allowed(world, Request(EVENTS, "sts:AssumeRole", role))
        denied(world, Request("lambda.amazonaws.com", "sts:AssumeRole", role))


def test_the_build_account_puts_on_the_tooling_bus_of_its_region_only(
    world: World, long_names_synth: Synth
) -> None:
    # A rule sending to another account's bus does so with aws:SourceArn = that rule (EventBridge User Guide,
    # "Using IAM policy conditions in Amazon EventBridge").
    # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html
    role = forwarding_role(world, long_names_synth, Y_GROUP)
    source = rule(Y.build_account, Y.build_region, forwarding_rule_name(Y))
    context = {"aws:SourceArn": source, "aws:SourceAccount": Y.build_account}
    tooling_bus = bus(TOOLING, TOOLING_REGION)
    allowed(world, Request(role, "events:PutEvents", tooling_bus, context))
    another = rule(Y.build_account, Y.build_region, "another-rule")
    denied(world, Request(role, "events:PutEvents", tooling_bus, {**context, "aws:SourceArn": another}))
    denied(world, Request(role, "events:PutEvents", bus(TOOLING, OTHER_REGION), context))
    # The same role in another account: the tooling bus names the group's build account only.
    foreign = role.replace(Y.build_account, OUTSIDER)
    foreign_context = {
        "aws:SourceArn": source.replace(Y.build_account, OUTSIDER),
        "aws:SourceAccount": OUTSIDER,
    }
    denied(
        world.with_role_like(foreign, role),
        Request(foreign, "events:PutEvents", tooling_bus, foreign_context),
    )


def test_a_build_account_in_another_region_reaches_the_relay_bus_only(
    world: World, long_names_synth: Synth
) -> None:
    role = forwarding_role(world, long_names_synth, X_GROUP)
    context = {
        "aws:SourceArn": rule(X.build_account, X.build_region, forwarding_rule_name(X)),
        "aws:SourceAccount": X.build_account,
    }
    allowed(world, Request(role, "events:PutEvents", bus(TOOLING, X.build_region), context))
    denied(world, Request(role, "events:PutEvents", bus(TOOLING, TOOLING_REGION), context))


def test_the_relay_puts_on_the_tooling_regions_bus_only(world: World, long_names_synth: Synth) -> None:
    relay = world.attribute(
        stack_name(long_names_synth, f"{X_GROUP}/NotificationRelay"),
        "AWS::IAM::Role",
        "TrainingFailedRelayRole",
    )
    context = {
        "aws:SourceArn": rule(TOOLING, X.build_region, relay_rule_name(X)),
        "aws:SourceAccount": TOOLING,
    }
    # Same account: the role's own policy decides, no bus policy is needed.
    allowed(world, Request(relay, "events:PutEvents", bus(TOOLING, TOOLING_REGION), context))
    denied(world, Request(relay, "events:PutEvents", bus(X.build_account, TOOLING_REGION), context))
    other_bus = f"arn:aws:events:{TOOLING_REGION}:{TOOLING}:event-bus/other"
    denied(world, Request(relay, "events:PutEvents", other_bus, context))


def test_the_rules_are_where_the_proof_looks(world: World, long_names_synth: Synth) -> None:
    """The rule ARNs the requests above use are those of the rules the templates create."""
    found = {
        world.attribute(stack_name(long_names_synth, f"{X_GROUP}/NotificationRelay"), "AWS::Events::Rule"),
        world.attribute(
            stack_name(long_names_synth, f"{Y_GROUP}/BuildSupport"), "AWS::Events::Rule", "TrainingFailed"
        ),
        world.attribute(
            stack_name(long_names_synth, f"{Y_GROUP}/ModelBuild"), "AWS::Events::Rule", "TrainingFailedNotify"
        ),
    }
    assert found == {
        rule(TOOLING, X.build_region, relay_rule_name(X)),
        rule(Y.build_account, Y.build_region, forwarding_rule_name(Y)),
        rule(TOOLING, TOOLING_REGION, topic_rule_name(Y)),
    }


def test_the_proof_denies_once_the_bus_statement_is_gone(world: World, long_names_synth: Synth) -> None:
    role = forwarding_role(world, long_names_synth, Y_GROUP)
    context = {
        "aws:SourceArn": rule(Y.build_account, Y.build_region, forwarding_rule_name(Y)),
        "aws:SourceAccount": Y.build_account,
    }
    without = world.without_statement(forwarding_rule_name(Y))
    denied(without, Request(role, "events:PutEvents", bus(TOOLING, TOOLING_REGION), context))
