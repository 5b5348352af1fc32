"""The ``notifications`` parameter: who hears about failed pipelines, approvals waiting and failed trainings.

:class:`NotificationSettings` validates the value on its own; :func:`tooling_problems` runs in the loader
once the tooling account and region are known (a topic or chat configuration of another account or
region cannot receive the module's rules).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from settings.inputs import Input

EMAILS_LIMIT = 20
"""Each address is one subscription resource in the top stack; a mailing list serves more people."""

# Pragmatic: one '@', a dot in the domain, no spaces; SNS itself sends the confirmation that proves it.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+", re.ASCII)
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256}(\.fifo)?)", re.ASCII)
# Amazon Q Developer in chat applications (formerly AWS Chatbot) is global: its ARNs have no region.
_SLACK_ARN = re.compile(
    r"arn:aws[a-z-]*:chatbot::(\d{12}):chat-configuration/slack-channel/[A-Za-z0-9_-]{1,128}", re.ASCII
)


def _email(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    # 254: the longest address SMTP carries (RFC 5321).
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValueError("must be an email address such as ml-team@example.com")
    return value


def _topic_arn(value: str) -> str:
    match = _TOPIC_ARN.fullmatch(value)
    if not match:
        raise ValueError("must be an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:ml-alerts")
    if match.group(4):
        raise ValueError("must be a standard topic: the module's rules publish no message group ID")
    return value


def _slack_arn(value: str) -> str:
    if not _SLACK_ARN.fullmatch(value):
        raise ValueError(
            "must be a Slack channel configuration ARN such as "
            "arn:aws:chatbot::123456789012:chat-configuration/slack-channel/ml-alerts"
        )
    return value


Email = Annotated[str, AfterValidator(_email)]
SnsTopicArn = Annotated[str, AfterValidator(_topic_arn)]
SlackChannelConfigurationArn = Annotated[str, AfterValidator(_slack_arn)]


class NotificationSettings(Input):
    """Where pipeline failures, approvals waiting and failed trainings go: at least one destination."""

    emails: tuple[Email, ...] = Field(
        (),
        description=(
            f"Addresses subscribed to the module's topic (at most {EMAILS_LIMIT}); each confirms by the "
            "link SNS sends."
        ),
    )
    topic_arn: SnsTopicArn | None = Field(
        None,
        description=(
            "An existing standard topic in the tooling account and region to publish to instead of the "
            "module's own; its policy (and key policy) must allow the module's publishers (README)."
        ),
    )
    slack_channel_configuration_arn: SlackChannelConfigurationArn | None = Field(
        None,
        description=(
            "An Amazon Q Developer in chat applications Slack channel configuration of the tooling account, "
            "a target of every pipeline's notification rule."
        ),
    )

    @field_validator("emails", mode="after")
    @classmethod
    def _emails_fit(cls, emails: tuple[str, ...]) -> tuple[str, ...]:
        if len(emails) > EMAILS_LIMIT:
            raise ValueError(
                f"{len(emails)} addresses given, at most {EMAILS_LIMIT}: use a mailing list for more"
            )
        seen: dict[str, int] = {}
        for index, email in enumerate(emails):
            first = seen.setdefault(email.lower(), index)
            if first != index:
                raise ValueError(f"[{index}] repeats [{first}] (ignoring case): {email!r}")
        return emails

    @model_validator(mode="after")
    def _somewhere_to_go(self) -> NotificationSettings:
        if not (self.emails or self.topic_arn or self.slack_channel_configuration_arn):
            raise ValueError(
                "needs at least one of emails, topicArn or slackChannelConfigurationArn "
                "(leave notifications out to create nothing)"
            )
        return self


def tooling_problems(
    settings: NotificationSettings, *, tooling_account: str, tooling_region: str
) -> list[str]:
    """What settings must report once the tooling account and region are known, one line each.

    CodeStar Notifications and EventBridge rules publish to a topic of their own region, and the module
    grants only its own account's publishers; a chat configuration belongs to one account.
    """
    problems = []
    if settings.topic_arn:
        match = _TOPIC_ARN.fullmatch(settings.topic_arn)
        assert match is not None  # validated already
        region, account = match.group(1), match.group(2)
        if (account, region) != (tooling_account, tooling_region):
            problems.append(
                f"notifications.topicArn: must be a topic of the tooling account {tooling_account} in "
                f"{tooling_region}, got one of {account} in {region}"
            )
    if settings.slack_channel_configuration_arn:
        match = _SLACK_ARN.fullmatch(settings.slack_channel_configuration_arn)
        assert match is not None
        if match.group(1) != tooling_account:
            problems.append(
                f"notifications.slackChannelConfigurationArn: must be a configuration of the tooling account "
                f"{tooling_account}, got one of {match.group(1)}"
            )
    return problems
