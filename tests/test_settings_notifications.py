"""settings.notifications as the loader reads it: good values, one line per problem in the user's spelling."""

from __future__ import annotations

import os
from typing import Any

import pytest

from settings import load_settings
from settings.notifications import EMAILS_LIMIT
from tests.settings_harness import (  # noqa: F401 - the autouse fixture "env"
    edit,
    problems,
    readme_example_environment,
)

TOOLING, REGION = "111111111111", "us-east-1"  # the harness's CDK_DEFAULT_ACCOUNT and _REGION
TOPIC = f"arn:aws:sns:{REGION}:{TOOLING}:ml-alerts"
CONFIGURATIONS = f"arn:aws:chatbot::{TOOLING}:chat-configuration"
SLACK = f"{CONFIGURATIONS}/slack-channel/ml-alerts"
EMAIL = "must be an email address such as ml-team@example.com"
TOPIC_ARN = "must be an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:ml-alerts"
SLACK_ARN = (
    "must be a Slack channel configuration ARN such as "
    "arn:aws:chatbot::123456789012:chat-configuration/slack-channel/ml-alerts"
)


def test_without_the_parameter_there_are_no_notifications() -> None:
    assert load_settings(os.environ).parameters.notifications is None


@pytest.mark.parametrize(
    "value",
    [
        {"emails": ["ml-team@example.com"]},
        {"topicArn": TOPIC},
        {"slackChannelConfigurationArn": SLACK},
        {
            "emails": ["a@example.com", "b.c+ml@sub.example.co.uk"],
            "topicArn": TOPIC,
            "slackChannelConfigurationArn": SLACK,
        },
        {"emails": [f"person{i}@example.com" for i in range(EMAILS_LIMIT)]},
    ],
)
def test_good_values(env: pytest.MonkeyPatch, value: dict[str, Any]) -> None:
    edit(env, "notifications", value)
    notifications = load_settings(os.environ).parameters.notifications
    assert notifications is not None
    assert notifications.emails == tuple(value.get("emails", ()))
    assert notifications.topic_arn == value.get("topicArn")
    assert notifications.slack_channel_configuration_arn == value.get("slackChannelConfigurationArn")


@pytest.mark.parametrize(
    ("value", "line"),
    [
        (
            {},
            "notifications: needs at least one of emails, topicArn or slackChannelConfigurationArn "
            "(leave notifications out to create nothing)",
        ),
        (
            {"emails": []},
            "notifications: needs at least one of emails, topicArn or slackChannelConfigurationArn "
            "(leave notifications out to create nothing)",
        ),
        ({"emails": ["not-an-address"]}, f"notifications.emails[0]: {EMAIL}, got 'not-an-address'"),
        ({"emails": ["ok@example.com", "a@b"]}, f"notifications.emails[1]: {EMAIL}, got 'a@b'"),
        (
            {"emails": ["two words@example.com"]},
            f"notifications.emails[0]: {EMAIL}, got 'two words@example.com'",
        ),
        ({"emails": [""]}, "notifications.emails[0]: must not be empty"),
        ({"emails": "ml@example.com"}, "notifications.emails: must be a list ([...]), got 'ml@example.com'"),
        (
            {"emails": ["ML@example.com", "x@example.com", "ml@example.com"]},
            "notifications.emails: [2] repeats [0] (ignoring case): 'ml@example.com'",
        ),
        (
            {"emails": [f"person{i}@example.com" for i in range(EMAILS_LIMIT + 1)]},
            f"notifications.emails: {EMAILS_LIMIT + 1} addresses given, at most {EMAILS_LIMIT}: "
            "use a mailing list for more",
        ),
        (
            {"topicArn": "arn:aws:sqs:us-east-1:111111111111:queue"},
            f"notifications.topicArn: {TOPIC_ARN}, got 'arn:aws:sqs:us-east-1:111111111111:queue'",
        ),
        (
            {"topicArn": f"{TOPIC}.fifo"},
            "notifications.topicArn: must be a standard topic: the module's rules publish no message "
            f"group ID, got '{TOPIC}.fifo'",
        ),
        (
            {"slackChannelConfigurationArn": f"{CONFIGURATIONS}/teams/x"},
            f"notifications.slackChannelConfigurationArn: {SLACK_ARN}, got '{CONFIGURATIONS}/teams/x'",
        ),
        (
            {"topicArn": TOPIC, "email": ["a@example.com"]},
            "notifications.email: unknown key (check its spelling)",
        ),
        (
            {"topic-arn": TOPIC},
            "notifications.topic-arn: unknown key: keys inside values are camelCase ('topicArn')",
        ),
    ],
)
def test_bad_values_are_one_line_each(env: pytest.MonkeyPatch, value: dict[str, Any], line: str) -> None:
    edit(env, "notifications", value)
    assert problems() == [line]


def test_a_key_of_notifications_elsewhere_says_where_it_belongs(env: pytest.MonkeyPatch) -> None:
    edit(env, "deployment-groups[0].emails", ["ml@example.com"])
    assert problems() == ["deployment-groups[0].emails: not a key here: it belongs in notifications"]


def test_destinations_must_be_the_tooling_accounts(env: pytest.MonkeyPatch) -> None:
    edit(
        env,
        "notifications",
        {
            "topicArn": "arn:aws:sns:eu-west-1:222222222222:ml-alerts",
            "slackChannelConfigurationArn": SLACK.replace(TOOLING, "222222222222"),
        },
    )
    assert problems() == [
        f"notifications.topicArn: must be a topic of the tooling account {TOOLING} in {REGION}, "
        "got one of 222222222222 in eu-west-1",
        "notifications.slackChannelConfigurationArn: must be a configuration of the tooling account "
        f"{TOOLING}, got one of 222222222222",
    ]
