"""blocks.notifications and blocks.training_failures as the module wires them: every pipeline covered when
``notifications`` is set, nothing notification-related when it is not.

The long-names synth sets ``notifications`` (emails and a Slack channel; group X trains in eu-west-1, group Y
in the tooling region); the README example does not. Both are shared CLI synths, cdk-nag'd and (long)
cfn-linted where the pool makes them. The user's topic and a Slack channel alone are small in-process stacks,
built once for the module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_codepipeline as codepipeline
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_by_config  # type: ignore[import-untyped]

from blocks.notifications import (
    MANUAL_APPROVAL_NEEDED,
    NOTIFICATION_RULE_NAME,
    PIPELINE_EXECUTION_FAILED,
    Notifications,
    notification_rule_name,
    topic_name,
)
from blocks.training_failures import (
    EVENTS_RULE_NAME,
    TRAINING_STATUS_DETAIL_TYPE,
    forward_training_failures,
    forwarding_rule_name,
    notify_training_failures,
    relay_rule_name,
    relay_training_failures,
    topic_rule_name,
)
from names import GroupNames
from tests.conftest import (
    LONG_NAMES_CONTEXT,
    LONG_PARAMETERS,
    TOOLING_ACCOUNT,
    TOOLING_REGION,
    StackArtifact,
    Synth,
    resolve_partition,
)

TOOLING = TOOLING_ACCOUNT
STACK_NAME = "-".join(str(LONG_NAMES_CONTEXT[k]) for k in ("project", "deployment", "module"))
(NOTIFICATIONS,) = [p["value"] for p in LONG_PARAMETERS if p["name"] == "notifications"]
(GROUPS,) = [p["value"] for p in LONG_PARAMETERS if p["name"] == "deployment-groups"]
X, Y = (
    GroupNames(f"{STACK_NAME}-{g['name']}", g["buildEnvironment"]["account"], g["buildEnvironment"]["region"])
    for g in GROUPS
)
X_GROUP, Y_GROUP = (g["name"] for g in GROUPS)
TOPIC_ARN = f"arn:aws:sns:{TOOLING_REGION}:{TOOLING}:{topic_name(STACK_NAME)}"
SLACK = NOTIFICATIONS["slackChannelConfigurationArn"]
NOTIFICATION_TYPES = ("AWS::CodeStarNotifications::", "AWS::Events::EventBusPolicy")


def bus(account: str, region: str) -> str:
    return f"arn:aws:events:{region}:{account}:event-bus/default"


def properties(stack: StackArtifact, kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in stack.template["Resources"].values() if r["Type"] == kind]


def one(stack: StackArtifact, kind: str) -> dict[str, Any]:
    (found,) = properties(stack, kind)
    return found


def statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in document["Statement"] if "Sid" in s}


def rule_named(stack: StackArtifact, name: str) -> dict[str, Any]:
    (found,) = [r for r in properties(stack, "AWS::Events::Rule") if r.get("Name") == name]
    return found


def tooling_stacks(synth: Synth) -> Iterator[StackArtifact]:
    yield from (s for s in synth.stacks.values() if s.account == TOOLING)


# --- nothing without the parameter ----------------------------------------------------------------------


def test_without_notifications_nothing_notification_related_exists(example_synth: Synth) -> None:
    for stack in example_synth.stacks.values():
        for logical_id, resource in stack.template["Resources"].items():
            assert not resource["Type"].startswith(NOTIFICATION_TYPES), (stack.display_name, logical_id)
            name = str(resource.get("Properties", {}).get("Name", ""))
            assert "training-failed" not in name, (stack.display_name, logical_id)
            assert "Notifications" not in logical_id, (stack.display_name, logical_id)
        assert "NotificationRelay" not in stack.display_name
    # The only topics are the groups' approval topics, in their build accounts.
    topics = [s.account for s, _, _ in example_synth.resources("AWS::SNS::Topic")]
    assert TOOLING not in topics
    metadata = json.loads(example_synth.stack("MlopsCicd").template["Outputs"]["metadata"]["Value"])
    assert "NotificationTopicArn" not in metadata


# --- the topic and its key --------------------------------------------------------------------------------


def test_the_topic_has_its_own_rotated_key_and_takes_tls_only(long_names_synth: Synth) -> None:
    top = long_names_synth.stack("MlopsCicd")
    topic = one(top, "AWS::SNS::Topic")
    assert topic["TopicName"] == topic_name(STACK_NAME)
    (key_id, _) = topic["KmsMasterKeyId"]["Fn::GetAtt"]
    key = top.template["Resources"][key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    policy = one(top, "AWS::SNS::TopicPolicy")["PolicyDocument"]
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert (deny["Principal"], deny["Condition"]) == ("*", {"Bool": {"aws:SecureTransport": "false"}})
    subscribed = sorted((s["Protocol"], s["Endpoint"]) for s in properties(top, "AWS::SNS::Subscription"))
    assert subscribed == sorted(("email", e) for e in NOTIFICATIONS["emails"])


def test_codestar_publishes_for_this_account_and_eventbridge_from_the_groups_rules(
    long_names_synth: Synth,
) -> None:
    top = long_names_synth.stack("MlopsCicd")
    found = statements(one(top, "AWS::SNS::TopicPolicy")["PolicyDocument"])
    codestar = found["CodeStarNotificationsPublish"]
    assert codestar["Principal"] == {"Service": "codestar-notifications.amazonaws.com"}
    assert codestar["Condition"] == {"StringEquals": {"aws:SourceAccount": TOOLING}}
    events = found["EventBridgePublishesTrainingFailures"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert [resolve_partition(a) for a in events["Condition"]["ArnEquals"]["aws:SourceArn"]] == sorted(
        f"arn:aws:events:{TOOLING_REGION}:{TOOLING}:rule/{topic_rule_name(g)}" for g in (X, Y)
    )


def test_the_key_serves_codestar_through_sns_only_and_eventbridge_without_source_keys(
    long_names_synth: Synth,
) -> None:
    top = long_names_synth.stack("MlopsCicd")
    (topic,) = properties(top, "AWS::SNS::Topic")
    key = top.template["Resources"][topic["KmsMasterKeyId"]["Fn::GetAtt"][0]]["Properties"]
    found = statements(key["KeyPolicy"])
    codestar = found["CodeStarNotificationsPublishEncrypted"]
    assert codestar["Principal"] == {"Service": "codestar-notifications.amazonaws.com"}
    assert sorted(codestar["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert codestar["Condition"] == {
        "StringEquals": {"kms:ViaService": f"sns.{TOOLING_REGION}.amazonaws.com"}
    }
    events = found["EventBridgePublishesEncrypted"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert sorted(events["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert "Condition" not in events


def test_the_metadata_names_the_topic(long_names_synth: Synth) -> None:
    metadata = json.loads(long_names_synth.stack("MlopsCicd").template["Outputs"]["metadata"]["Value"])
    assert resolve_partition(metadata["NotificationTopicArn"]) == TOPIC_ARN


# --- every pipeline ---------------------------------------------------------------------------------------


def test_every_pipeline_has_one_rule_for_failures_and_approvals_to_topic_and_slack(
    long_names_synth: Synth,
) -> None:
    covered = 0
    for stack in tooling_stacks(long_names_synth):
        resources = stack.template["Resources"]
        pipelines = {k for k, r in resources.items() if r["Type"] == "AWS::CodePipeline::Pipeline"}
        rules = properties(stack, "AWS::CodeStarNotifications::NotificationRule")
        sources = [part["Ref"] for r in rules for part in r["Resource"]["Fn::Join"][1] if "Ref" in part]
        assert sorted(sources) == sorted(pipelines), stack.display_name
        for rule, source in zip(rules, sources, strict=True):
            assert rule["Name"] == notification_rule_name(resources[source]["Properties"]["Name"])
            assert rule["EventTypeIds"] == [PIPELINE_EXECUTION_FAILED, MANUAL_APPROVAL_NEEDED]
            assert rule["DetailType"] == "FULL"
            targets = [(t["TargetType"], resolve_partition(t["TargetAddress"])) for t in rule["Targets"]]
            assert targets == [("SNS", TOPIC_ARN), ("AWSChatbotSlack", SLACK)]
        covered += len(pipelines)
    assert covered == 5  # the infra pipeline and two per group


def test_a_rule_in_the_topics_stack_waits_for_the_topic(long_names_synth: Synth) -> None:
    resources = long_names_synth.stack("MlopsCicd").template["Resources"]
    (rule,) = [r for r in resources.values() if r["Type"] == "AWS::CodeStarNotifications::NotificationRule"]
    (topic,) = [k for k, r in resources.items() if r["Type"] == "AWS::SNS::Topic"]
    assert topic in rule["DependsOn"]


# --- failed trainings, build account -> tooling account ---------------------------------------------------


def _pattern_for(rule: dict[str, Any], names: GroupNames) -> None:
    pattern = rule["EventPattern"]
    assert (pattern["source"], pattern["detail-type"]) == (["aws.sagemaker"], [TRAINING_STATUS_DETAIL_TYPE])
    assert pattern["detail"]["currentPipelineExecutionStatus"] == ["Failed"]
    (pipeline,) = pattern["detail"]["pipelineArn"]
    assert resolve_partition(pipeline) == (
        f"arn:aws:sagemaker:{names.build_region}:{names.build_account}:pipeline/{names.sagemaker_pipeline}"
    )


def _role_puts_only_on(stack: StackArtifact, role_arn: dict[str, Any], bus_arn: str) -> None:
    role_id = role_arn["Fn::GetAtt"][0]
    trust = stack.template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}}
    ]
    (policy,) = [p for p in properties(stack, "AWS::IAM::Policy") if p["Roles"] == [{"Ref": role_id}]]
    granted = [(s["Action"], resolve_partition(s["Resource"])) for s in policy["PolicyDocument"]["Statement"]]
    assert granted == [("events:PutEvents", bus_arn)]


@pytest.mark.parametrize(("group", "names"), [(X_GROUP, X), (Y_GROUP, Y)], ids=["X", "Y"])
def test_the_build_account_forwards_failures_to_the_tooling_bus_of_its_region(
    long_names_synth: Synth, group: str, names: GroupNames
) -> None:
    stack = long_names_synth.stack(f"{group}/BuildSupport")
    rule = rule_named(stack, forwarding_rule_name(names))
    _pattern_for(rule, names)
    (target,) = rule["Targets"]
    assert resolve_partition(target["Arn"]) == bus(TOOLING, names.build_region)
    _role_puts_only_on(stack, target["RoleArn"], bus(TOOLING, names.build_region))


def _accepts_only(stack: StackArtifact, names: GroupNames) -> None:
    policy = one(stack, "AWS::Events::EventBusPolicy")
    assert (policy["EventBusName"], policy["StatementId"]) == ("default", forwarding_rule_name(names))
    statement = policy["Statement"]
    assert resolve_partition(statement["Principal"]["AWS"]) == f"arn:aws:iam::{names.build_account}:root"
    assert (statement["Effect"], statement["Action"]) == ("Allow", "events:PutEvents")
    assert resolve_partition(statement["Resource"]) == bus(TOOLING, stack.region)
    source = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert resolve_partition(source) == (
        f"arn:aws:events:{names.build_region}:{names.build_account}:rule/{forwarding_rule_name(names)}"
    )


def test_the_tooling_bus_of_the_build_region_accepts_only_the_groups_forwarding_rule(
    long_names_synth: Synth,
) -> None:
    # Y trains in the tooling region: its model build stack holds the statement; X's relay holds X's.
    _accepts_only(long_names_synth.stack(f"{Y_GROUP}/ModelBuild"), Y)
    _accepts_only(long_names_synth.stack(f"{X_GROUP}/NotificationRelay"), X)
    assert properties(long_names_synth.stack(f"{X_GROUP}/ModelBuild"), "AWS::Events::EventBusPolicy") == []


def test_only_a_group_in_another_region_has_a_relay_to_the_tooling_region(long_names_synth: Synth) -> None:
    relays = [s for s in long_names_synth.stacks.values() if s.display_name.endswith("/NotificationRelay")]
    assert [(s.display_name, s.account, s.region) for s in relays] == [
        (f"MlopsCicd/{X_GROUP}/NotificationRelay", TOOLING, X.build_region)
    ]
    (relay,) = relays
    assert relay.tags["CostCenter"] == "ml-4242"
    rule = rule_named(relay, relay_rule_name(X))
    _pattern_for(rule, X)
    (target,) = rule["Targets"]
    assert resolve_partition(target["Arn"]) == bus(TOOLING, TOOLING_REGION)
    _role_puts_only_on(relay, target["RoleArn"], bus(TOOLING, TOOLING_REGION))


@pytest.mark.parametrize(("group", "names"), [(X_GROUP, X), (Y_GROUP, Y)], ids=["X", "Y"])
def test_each_groups_failures_reach_the_topic_from_the_tooling_region(
    long_names_synth: Synth, group: str, names: GroupNames
) -> None:
    rule = rule_named(long_names_synth.stack(f"{group}/ModelBuild"), topic_rule_name(names))
    _pattern_for(rule, names)
    (target,) = rule["Targets"]
    assert resolve_partition(target["Arn"]) == TOPIC_ARN
    assert "RoleArn" not in target  # same account and region: the topic's policy decides


# --- names ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("names", [X, Y])
def test_group_rule_names_fit_eventbridge_and_differ(names: GroupNames) -> None:
    found = {forwarding_rule_name(names), relay_rule_name(names), topic_rule_name(names)}
    assert len(found) == 3
    assert all(re.fullmatch(r"[.\-_A-Za-z0-9]{1,64}", n) and len(n) <= EVENTS_RULE_NAME for n in found)
    assert all(
        n.endswith(("-training-failed", "-training-failed-relay", "-training-failed-notify")) for n in found
    )


def test_a_long_notification_rule_name_keeps_the_group_and_pipeline_kind() -> None:
    build, deploy = (notification_rule_name(n) for n in (X.model_build_pipeline, X.model_deploy_pipeline))
    assert build.endswith("-model-build-notify"), build
    assert deploy.endswith("-model-deploy-notify"), deploy
    assert max(len(build), len(deploy)) <= NOTIFICATION_RULE_NAME
    assert re.fullmatch(r"[A-Za-z0-9_ -]{1,64}", notification_rule_name("team.pipeline@v2_main"))
    assert notification_rule_name(X.model_build_pipeline) != notification_rule_name(Y.model_build_pipeline)


# --- small stacks: the user's topic, Slack alone, the tooling account's own group -------------------------


@pytest.fixture(scope="module")
def small_stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One app, synthesized once with cdk-nag and linted in one call: what a user's topic, a Slack channel
    alone and a group training in the tooling account and region create."""
    outdir = tmp_path_factory.mktemp("notifications")
    app = cdk.App(outdir=str(outdir), analytics_reporting=False, builtin_cloud_formation_validation=False)
    tooling = cdk.Environment(account=TOOLING, region=TOOLING_REGION)
    stacks = {name: cdk.Stack(app, name, env=tooling) for name in ("UserTopic", "SlackOnly", "Local")}
    pipeline_arn = f"arn:aws:codepipeline:{TOOLING_REGION}:{TOOLING}:infra"
    user_topic = f"arn:aws:sns:{TOOLING_REGION}:{TOOLING}:team-alerts"
    for name, options in (
        ("UserTopic", {"topic_arn": user_topic, "slack_channel_configuration_arn": SLACK}),
        ("SlackOnly", {"slack_channel_configuration_arn": SLACK}),
    ):
        notifications = Notifications(stacks[name], "Notifications", topic_name="alerts", **options)
        pipeline = codepipeline.Pipeline.from_pipeline_arn(stacks[name], "Infra", pipeline_arn)
        notifications.add_pipeline_rule(pipeline, pipeline_name="infra")
    local = GroupNames(f"{STACK_NAME}-local", TOOLING, TOOLING_REGION)
    assert forward_training_failures(stacks["Local"], names=local, tooling_account=TOOLING) is None
    notify_training_failures(stacks["Local"], names=local, topic_arn=TOPIC_ARN)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises ValidationFailed on any open cdk-nag finding
    paths = {name: outdir / f"{stack.artifact_id}.template.json" for name, stack in stacks.items()}
    lint = ManualArgs(templates=[str(p) for p in paths.values()], regions=[TOOLING_REGION])
    assert [str(match) for match in lint_by_config(lint)] == []
    return {name: json.loads(path.read_text()) for name, path in paths.items()}


def kinds(template: dict[str, Any]) -> list[str]:
    return sorted(r["Type"] for r in template["Resources"].values())


def test_the_users_topic_replaces_the_modules_own(small_stacks: dict[str, dict[str, Any]]) -> None:
    template = small_stacks["UserTopic"]
    assert kinds(template) == ["AWS::CodeStarNotifications::NotificationRule"]
    (rule,) = template["Resources"].values()
    assert rule["Properties"]["Targets"] == [
        {"TargetType": "SNS", "TargetAddress": f"arn:aws:sns:{TOOLING_REGION}:{TOOLING}:team-alerts"},
        {"TargetType": "AWSChatbotSlack", "TargetAddress": SLACK},
    ]


def test_slack_alone_gets_a_topic_for_failed_trainings_and_rules_target_slack_only(
    small_stacks: dict[str, dict[str, Any]],
) -> None:
    template = small_stacks["SlackOnly"]
    assert "AWS::SNS::Subscription" not in kinds(template)
    assert kinds(template).count("AWS::SNS::Topic") == 1
    (rule,) = [r for r in template["Resources"].values() if r["Type"].startswith("AWS::CodeStar")]
    assert rule["Properties"]["Targets"] == [{"TargetType": "AWSChatbotSlack", "TargetAddress": SLACK}]
    # No group rules given: EventBridge gets neither the topic nor the key.
    (key,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    assert set(statements(key["Properties"]["KeyPolicy"])) == {"CodeStarNotificationsPublishEncrypted"}


def test_a_group_training_in_the_tooling_account_and_region_needs_no_forwarding(
    small_stacks: dict[str, dict[str, Any]],
) -> None:
    assert kinds(small_stacks["Local"]) == ["AWS::Events::Rule"]


def test_notifications_refuse_no_destination_and_a_relay_in_the_tooling_region() -> None:
    stack = cdk.Stack(cdk.App(), "Tooling", env=cdk.Environment(account=TOOLING, region=TOOLING_REGION))
    with pytest.raises(ValueError, match="needs emails, a topic ARN or a Slack"):
        Notifications(stack, "Notifications", topic_name="x")
    with pytest.raises(ValueError, match="belongs in the build region"):
        relay_training_failures(stack, names=Y, tooling_region=TOOLING_REGION)
