"""The input's field types: each a shape, checked with one plain-words rule, and AWS's limits on tags."""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator


def _matching(pattern: str, rule: str) -> AfterValidator:
    """Check ``pattern``, stating the rule in words instead of echoing a regular expression.

    ASCII only: otherwise the digit and word classes accept any script's digits and letters, which no
    AWS name or account ID does. Empty values get their own, plainer message.
    """
    compiled = re.compile(pattern, re.ASCII)

    def check(value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        if not compiled.fullmatch(value):
            raise ValueError(rule)
        return value

    return AfterValidator(check)


AccountId = Annotated[str, _matching(r"\d{12}", "must be 12 digits")]
REGION_PATTERN = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}"
"""The shape of an AWS region name, the one place it is stated (botocore then says which exist)."""
_REGION_SHAPE = _matching(REGION_PATTERN, "must be an AWS region such as us-east-1")
# What each role's region must offer (botocore's endpoint data, pinned with boto3: no list kept by hand).
BUILD_REGION_SERVICES = {
    "sagemaker": "SageMaker",
    "sns": "SNS",
    "events": "EventBridge",
    "s3": "S3",
    "kms": "KMS",
    "sqs": "SQS",
    "ecr": "ECR",
    "lambda": "Lambda",
}
TOOLING_REGION_SERVICES = {
    "codepipeline": "CodePipeline",
    "codebuild": "CodeBuild",
    "lambda": "Lambda",
    "ssm": "Systems Manager",
    "s3": "S3",
    "kms": "KMS",
    "sqs": "SQS",
}


@functools.cache
def regions_offering(service: str) -> frozenset[str]:
    """The aws partition's regions where botocore's endpoint data lists ``service``."""
    return frozenset(_botocore().get_available_regions(service, partition_name="aws"))


@functools.cache
def _botocore() -> Any:
    import botocore.session  # noqa: PLC0415 - only when a region is checked

    return botocore.session.get_session()


def _offering(services: Mapping[str, str]) -> AfterValidator:
    """A region of the aws partition where every one of ``services`` is offered, or one clear line."""

    def check(value: str) -> str:
        if _OTHER_PARTITION.fullmatch(value):
            partition = _botocore().get_partition_for_region(value)
            raise ValueError(f"is in the {partition} partition; the module supports the aws partition only")
        everywhere = frozenset.union(*(regions_offering(service) for service in services))
        if value not in everywhere:
            closest = difflib.get_close_matches(value, sorted(everywhere), n=1)
            hint = f"; closest: {closest[0]!r}" if closest else ""
            raise ValueError(f"is not an AWS region botocore knows{hint}")
        missing = [label for service, label in services.items() if value not in regions_offering(service)]
        if missing:
            raise ValueError(f"does not offer {', '.join(missing)} (botocore's endpoint data)")
        return value

    return AfterValidator(check)


_OTHER_PARTITION = re.compile(r"(cn|us-gov|us-iso[a-z]?|eu-isoe|eusc)-[a-z]+-\d{1,2}", re.ASCII)
BuildRegion = Annotated[str, _REGION_SHAPE, _offering(BUILD_REGION_SERVICES)]
ToolingRegion = Annotated[str, _REGION_SHAPE, _offering(TOOLING_REGION_SERVICES)]
# Group and environment names become parts of stack, stage, role and bucket names; names.bounded collapses
# runs of hyphens, so 'a--b' would name the same resources as 'a-b'.
ResourceName = Annotated[
    str,
    _matching(
        r"(?!.*--)[A-Za-z](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?",
        "must be 1-64 letters, digits or single hyphens, start with a letter and not end with a hyphen",
    ),
]
# The rules of `git check-ref-format --branch`; and text that UTF-8 can encode (no lone surrogates).
BranchName = Annotated[
    str,
    _matching(
        r"(?![-/])(?!(@|HEAD)$)(?!.*(\.\.|//|@\{))(?!(.*/)?\.)(?!.*\.lock(/|$))(?!.*[/.]$)"
        r"[^\s~^:?*\[\\\x00-\x1f\x7f\ud800-\udfff]{1,255}",
        "must be a git branch name: no spaces, '~', '^', ':', '?', '*', '[', '\\', '..', '//' or '@{', "
        "no part starting with '.' or ending with '.lock', not starting with '-' or '/', "
        "not ending with '/' or '.', not '@' or 'HEAD'",
    ),
]
RelativePath = Annotated[
    str,
    _matching(
        r"(?!/)(?!.*(^|/)\.\.(/|$))[\w./-]{1,255}",
        "must be a relative folder inside the repository (letters, digits, '_', '-', '.' and '/'; "
        "no leading '/', no '..')",
    ),
]
ModuleFile = Annotated[
    str,
    _matching(
        r"(?!/)(?!.*(^|/)\.\.(/|$))[\w./-]{1,255}",
        "must be a file in the module's folder, relative to it (letters, digits, '_', '-', '.' and '/'; "
        "no leading '/', no '..')",
    ),
]
S3BucketArn = Annotated[
    str,
    _matching(
        r"arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
        "must be an S3 bucket ARN such as arn:aws:s3:::my-access-logs",
    ),
]
IamPolicyArn = Annotated[
    str,
    _matching(
        r"arn:aws[a-z-]*:iam::\d{12}:policy/[\w+=,.@/-]{1,512}",
        "must be an IAM policy ARN such as arn:aws:iam::123456789012:policy/boundary",
    ),
]
IamPolicyName = Annotated[
    str,
    _matching(r"[\w+=,.@-]{1,128}", "must be an IAM policy name (1-128 of letters, digits, +=,.@_-)"),
]
SsmParameterName = Annotated[
    str,
    _matching(r"/[\w.-]+(/[\w.-]+)*", "must be an SSM parameter name such as /my-project/vpc/sg/id"),
]
InstanceType = Annotated[
    str,
    _matching(r"ml\.[a-z0-9-]+\.[a-z0-9]+", "must be a SageMaker instance type such as ml.m5.xlarge"),
]
SeedFarmerName = Annotated[
    str,
    _matching(
        r"[A-Za-z0-9][A-Za-z0-9-]{0,127}",
        "must be 1-128 letters, digits or hyphens, starting with a letter or digit",
    ),
]


MODULE_TAG_KEYS = ("SeedFarmerProjectName", "SeedFarmerDeploymentName", "SeedFarmerModuleName")
"""Tags the module puts on every stack and resource (modulestack.yaml's grants select pipelines by them)."""
CDK_TAG_KEYS = ("aws-cdk:auto-delete-objects",)
"""Tags CDK adds itself: on every bucket it empties before deleting (dev build accounts, tooling logs)."""
RESOURCE_TAG_LIMITS = {
    # User tags per resource, as each service documents it (tags starting with aws: do not count); every
    # kind the synthesized templates tag is listed (tests/test_stack.py checks), and the stacks themselves.
    "AWS::CloudFormation::Stack": 50,
    "AWS::ApplicationAutoScaling::ScalableTarget": 50,
    "AWS::CloudWatch::Alarm": 50,
    "AWS::CodeBuild::Project": 50,
    # CodeStar Notifications documents no limit of its own: AWS's general 50 ("Tagging AWS resources").
    "AWS::CodeStarNotifications::NotificationRule": 50,
    "AWS::CodePipeline::Pipeline": 50,
    "AWS::ECR::Repository": 50,
    "AWS::Events::Rule": 50,
    "AWS::IAM::Role": 50,
    "AWS::KMS::Key": 50,
    "AWS::Lambda::Function": 50,
    "AWS::Logs::LogGroup": 50,
    "AWS::S3::Bucket": 50,
    "AWS::SNS::Topic": 50,
    "AWS::SQS::Queue": 50,
    "AWS::SSM::Parameter": 50,
    "AWS::SageMaker::Endpoint": 50,
    "AWS::SageMaker::EndpointConfig": 50,
    "AWS::SageMaker::Model": 50,
    "AWS::SageMaker::ModelPackageGroup": 50,
}
TAGS_LIMIT = min(RESOURCE_TAG_LIMITS.values()) - len(MODULE_TAG_KEYS) - len(CDK_TAG_KEYS)
"""The user's tags that fit beside the module's and CDK's on every resource the module tags (46)."""


def _tag_text(*, key: bool) -> AfterValidator:
    """AWS's common tag alphabet: letters, digits and spaces of any script, and ``_ . : / = + - @``.

    Values may not be empty either: they are CloudFormation stack tags too, which need 1-256 characters.
    """
    limit = 128 if key else 256

    def check(value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
        odd = sorted({c for c in value if unicodedata.category(c)[0] not in "LNZ" and c not in "_.:/=+-@"})
        if odd:
            shown = ", ".join(repr(c) for c in odd[:5])
            raise ValueError(
                "may hold only letters, digits, spaces and _ . : / = + - @ (AWS's tag characters), "
                f"not {shown}"
            )
        if key and value[:4].lower() == "aws:":
            raise ValueError("must not start with 'aws:' (reserved for AWS)")
        if key and value in MODULE_TAG_KEYS + CDK_TAG_KEYS:
            raise ValueError("is a tag the module or CDK sets itself")
        return value

    return AfterValidator(check)


TagKey = Annotated[str, _tag_text(key=True)]
TagValue = Annotated[str, _tag_text(key=False)]


def repeated_names(named: list[tuple[str, str]]) -> str:
    """Names used more than once, ignoring case (IAM and S3 names are), each with where it is used."""
    places: dict[str, list[str]] = {}
    for where, name in named:
        places.setdefault(name.lower(), []).append(f"{where} {name!r}")
    return "; ".join(", ".join(used) for used in places.values() if len(used) > 1)
