"""The module's input contract: what seedfarmer hands over, validated once, in the user's spelling.

Seedfarmer passes each manifest parameter as ``SEEDFARMER_PARAMETER_<NAME_IN_UPPER_SNAKE>`` (non-string
values JSON-encoded), the project, deployment and module names as ``SEEDFARMER_*`` and the tooling
account as ``CDK_DEFAULT_*``. The infra pipeline re-synthesizes this module without seedfarmer; its synth
step carries the same variables (see :func:`carried_environment`), so settings are read the same way
everywhere. Every problem is reported as one line naming the parameter and the path inside it, e.g.
``deployment-groups[1].buildEnvironment.account: must be 12 digits, got '12345'``.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from names import CLOUDFORMATION_STACK, cross_region_support_stack

PARAMETER_PREFIX = "SEEDFARMER_PARAMETER_"
SEEDFARMER_PREFIX = "SEEDFARMER_"
CDK_PREFIX = "CDK_DEFAULT_"
APPROVED_MODEL_INFO_VARIABLE = "APPROVED_MODEL_INFO"
APPROVED_MODEL_GROUP_VARIABLE = "APPROVED_MODEL_GROUP"
NO_APPROVED_MODEL = "NONE"
PARAMETER_SIZE_LIMIT = 65_536
"""Characters per parameter value: far above any real manifest (seedfarmer stores at most 8 KB of them)."""
GROUPS_FILE_SIZE_LIMIT = 1_048_576
"""Bytes of ``deployment-groups-file`` read: fifty groups take about 16 KB."""
PROBLEMS_SHOWN = 25
"""Lines of problems reported at most: a list of thousands of bad items says so in one line."""
MODULE_FOLDER = Path(__file__).resolve().parent
"""Where ``deployment-groups-file`` is read: this module's folder, under seedfarmer and in the pipelines."""


class SettingsError(Exception):
    """Bad input: one human-readable line per problem, no traceback wanted."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


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
_REGION_SHAPE = _matching(
    r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}", "must be an AWS region such as us-east-1"
)
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


def _repeated(named: list[tuple[str, str]]) -> str:
    """Names used more than once, ignoring case (IAM and S3 names are), each with where it is used."""
    places: dict[str, list[str]] = {}
    for where, name in named:
        places.setdefault(name.lower(), []).append(f"{where} {name!r}")
    return "; ".join(", ".join(used) for used in places.values() if len(used) > 1)


class EnvironmentType(StrEnum):
    """How precious an environment is: prod gets a manual approval, preprod/prod keep their data."""

    DEV = "dev"
    PREPROD = "preprod"
    PROD = "prod"


class DeployOrder(StrEnum):
    """How a deploy pipeline orders its environments after an approval."""

    BY_TYPE = "byType"
    """One stage per environment type, dev -> preprod -> prod, its environments side by side."""
    SEQUENTIAL = "sequential"
    """One stage per environment, one after another (the build environment first)."""


class _Input(BaseModel):
    """Manifest values: camelCase keys, unknown keys rejected so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, validate_by_name=True)


Host = Literal["codecommit", "github", "github-enterprise", "gitlab", "gitlab-self-managed", "bitbucket"]
_CODECOMMIT_NAME = re.compile(r"(?!.*\.git$)[A-Za-z0-9_.-]{1,100}")
# Full repository paths as each hosting service allows them (GitLab nests groups).
_HOSTED_NAMES: dict[str, tuple[re.Pattern[str], str]] = {
    "github": (re.compile(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}"), "'owner/repository'"),
    "github-enterprise": (re.compile(r"[A-Za-z0-9_-]{1,39}/[A-Za-z0-9._-]{1,100}"), "'owner/repository'"),
    "bitbucket": (re.compile(r"[A-Za-z0-9_.-]{1,62}/[A-Za-z0-9_.-]{1,62}"), "'workspace/repository'"),
    "gitlab": (
        re.compile(r"[A-Za-z0-9_.-]{1,255}(/[A-Za-z0-9_.-]{1,255}){1,20}"),
        "'group/repository' or 'group/subgroup/.../repository'",
    ),
    "gitlab-self-managed": (
        re.compile(r"[A-Za-z0-9_.-]{1,255}(/[A-Za-z0-9_.-]{1,255}){1,20}"),
        "'group/repository' or 'group/subgroup/.../repository'",
    ),
}
_CONNECTION_ARN = re.compile(
    r"arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}"
)


class RepositorySettings(_Input):
    """A source repository the pipelines read: CodeCommit, or a hosted one through AWS CodeConnections."""

    host: Host = Field(description="Where the repository lives.")
    name: str = Field(
        description="CodeCommit: the repository's name; elsewhere its full path, e.g. 'owner/repository'."
    )
    connection_arn: str | None = Field(
        None,
        validate_default=True,
        description="The CodeConnections connection to a hosted repository; not for CodeCommit.",
    )

    @field_validator("name")
    @classmethod
    def _name_fits_host(cls, value: str, info: ValidationInfo) -> str:
        host = info.data.get("host")
        if not value:
            raise ValueError("must not be empty")
        if host == "codecommit":
            if not _CODECOMMIT_NAME.fullmatch(value):
                raise ValueError(
                    "must be a CodeCommit repository name: 1-100 letters, digits, '.', '_' or '-', "
                    "not ending in '.git'"
                )
        elif host in _HOSTED_NAMES:
            pattern, shape = _HOSTED_NAMES[host]
            if not pattern.fullmatch(value):
                raise ValueError(f"must be the full repository path {shape} on {host}")
        return value

    @field_validator("connection_arn")
    @classmethod
    def _connection_for_hosted_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        host = info.data.get("host")
        if host == "codecommit" and value is not None:
            raise ValueError("is only for hosted repositories; a CodeCommit repository needs none")
        if host not in (None, "codecommit") and value is None:
            raise ValueError(
                f"is required for host '{host}': the ARN of an AWS CodeConnections connection to it"
            )
        if value is not None and not _CONNECTION_ARN.fullmatch(value):
            raise ValueError(
                "must be a connection ARN such as "
                "arn:aws:codeconnections:us-east-1:123456789012:connection/<uuid>"
            )
        return value

    @property
    def hosted(self) -> bool:
        """Read through a CodeConnections connection rather than from CodeCommit."""
        return self.host != "codecommit"


class InfraRepositorySettings(RepositorySettings):
    """The repository holding this module's code, which the infra pipeline re-synthesizes."""

    branch: BranchName = Field("main", description="Branch the infra and deploy pipelines read.")
    path: RelativePath = Field(".", description="Folder of the repository that holds this module.")


class AutoScalingSettings(_Input):
    """Target tracking on invocations per instance."""

    min_capacity: StrictInt = Field(ge=1, le=100)
    max_capacity: StrictInt = Field(ge=1, le=100)
    target_invocations_per_instance: StrictInt = Field(ge=1, le=100_000)

    @model_validator(mode="after")
    def _min_not_above_max(self) -> AutoScalingSettings:
        if self.min_capacity > self.max_capacity:
            raise ValueError(
                f"minCapacity ({self.min_capacity}) must not exceed maxCapacity ({self.max_capacity})"
            )
        return self


class EndpointSettings(_Input):
    """How one environment serves the approved model."""

    instance_type: InstanceType = "ml.m5.xlarge"
    initial_instance_count: StrictInt = Field(1, ge=1, le=100)
    auto_scaling: AutoScalingSettings | None = None
    data_capture_percentage: StrictInt = Field(0, ge=0, le=100)
    data_capture_expiry_days: StrictInt | None = Field(None, ge=1, le=36500)
    """Captured data (and its noncurrent versions) expire after this many days; 30 in dev, never elsewhere."""
    vpc: StrictBool = True
    network_isolation: StrictBool = True
    """The model container gets no network access; off for containers that fetch code or packages at start."""
    subnet_ids_parameter: SsmParameterName | None = None
    security_group_id_parameter: SsmParameterName | None = None


class DeployEnvironmentSettings(_Input):
    """An account serving a group's approved models."""

    name: ResourceName
    account: AccountId
    type: EnvironmentType
    endpoint: EndpointSettings = EndpointSettings()
    require_approval: StrictBool | None = None

    @property
    def needs_approval(self) -> bool:
        """Prod asks a human first unless the environment says otherwise."""
        if self.require_approval is not None:
            return self.require_approval
        return self.type is EnvironmentType.PROD


class BuildEnvironmentSettings(DeployEnvironmentSettings):
    """The account (and region) where a group's models are trained and registered."""

    region: BuildRegion


class DeploymentGroupSettings(_Input):
    """A git branch, the account that trains on it and the accounts that serve its models."""

    name: ResourceName
    source_branch: BranchName
    build_environment: BuildEnvironmentSettings
    deploy_environments: tuple[DeployEnvironmentSettings, ...] = ()
    deploy_order: DeployOrder = DeployOrder.BY_TYPE

    @model_validator(mode="after")
    def _environment_names_unique(self) -> DeploymentGroupSettings:
        repeated = _repeated(
            [
                ("buildEnvironment", self.build_environment.name),
                *((f"deployEnvironments[{i}]", env.name) for i, env in enumerate(self.deploy_environments)),
            ]
        )
        if repeated:
            raise ValueError(
                f"environment names must be unique within a group (ignoring case), repeated: {repeated}"
            )
        return self


class _FromEnvironment(BaseSettings):
    """Settings read from seedfarmer's variables by :func:`load_settings` alone.

    pydantic-settings would read the environment ignoring case and stop at the first value that is not
    JSON; :func:`load_settings` reads exactly the variables :func:`carried_environment` carries and reports
    every problem, so these models only validate the values they are given.
    """

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


class ModuleParameters(_FromEnvironment):
    """The manifest's ``parameters``, as seedfarmer exports them."""

    model_config = SettingsConfigDict(env_prefix=PARAMETER_PREFIX, extra="forbid", frozen=True)

    infra_repo: InfraRepositorySettings
    model_build_repo: RepositorySettings
    # Not Field(min_length=1): pydantic counts only the groups that validated, so one bad group would
    # also be reported as "no groups".
    deployment_groups: tuple[DeploymentGroupSettings, ...] = Field(
        description="The groups inline; or read from deployment-groups-file (exactly one of the two)."
    )
    deployment_groups_file: ModuleFile | None = Field(
        None,
        description=(
            "A YAML or JSON file in the module's folder holding the deployment-groups list: seedfarmer then "
            "stores only this name, not the groups (see README 'Scale')."
        ),
    )
    permissions_boundary_name: IamPolicyName | None = None
    s3_access_logs_bucket_arn: S3BucketArn | None = None
    tags: dict[TagKey, TagValue] = Field(default_factory=dict)

    @field_validator("tags", mode="after")
    @classmethod
    def _tags_fit_every_resource(cls, tags: dict[str, str]) -> dict[str, str]:
        if len(tags) > TAGS_LIMIT:
            raise ValueError(
                f"{len(tags)} tags given, at most {TAGS_LIMIT} fit: every resource also carries the "
                f"module's {len(MODULE_TAG_KEYS)} and CDK's {len(CDK_TAG_KEYS)}, and AWS allows "
                f"{min(RESOURCE_TAG_LIMITS.values())} per resource"
            )
        return tags

    @field_validator("deployment_groups", mode="after")
    @classmethod
    def _group_names_unique(
        cls, groups: tuple[DeploymentGroupSettings, ...]
    ) -> tuple[DeploymentGroupSettings, ...]:
        if not groups:
            raise ValueError("must list at least one deployment group")
        repeated = _repeated([(f"[{i}]", group.name) for i, group in enumerate(groups)])
        if repeated:
            raise ValueError(f"group names must be unique (ignoring case), repeated: {repeated}")
        return groups


class SeedFarmerContext(_FromEnvironment):
    """Who deploys the module: seedfarmer's project, deployment and module names."""

    model_config = SettingsConfigDict(env_prefix=SEEDFARMER_PREFIX, extra="ignore", frozen=True)

    project_name: SeedFarmerName
    deployment_name: SeedFarmerName
    module_name: SeedFarmerName
    permissions_boundary_arn: IamPolicyArn | None = None


class ToolingEnvironment(_FromEnvironment):
    """The tooling account and region, where the module's pipelines live."""

    model_config = SettingsConfigDict(env_prefix=CDK_PREFIX, extra="ignore", frozen=True)

    account: AccountId
    region: ToolingRegion


class ApplicationSettings(BaseModel):
    """Everything the app needs, read and checked once."""

    model_config = ConfigDict(frozen=True)

    parameters: ModuleParameters
    seedfarmer: SeedFarmerContext
    tooling: ToolingEnvironment
    carried_environment: dict[str, str]
    approved_model_info: str | None = None
    """What a deploy pipeline's synth read from its group's SSM parameter; None before any approval."""
    approved_model_group: str | None = None
    """The one deployment group ``approved_model_info`` belongs to."""

    @property
    def resource_tags(self) -> dict[str, str]:
        """What every stack and resource carries: the module's own tags, then the user's (other keys)."""
        sf = self.seedfarmer
        module = dict(
            zip(MODULE_TAG_KEYS, (sf.project_name, sf.deployment_name, sf.module_name), strict=True)
        )
        return {**module, **self.parameters.tags}

    @property
    def stack_name(self) -> str:
        """Exactly what ``seedfarmer metadata convert`` looks for: never shortened."""
        sf = self.seedfarmer
        return f"{sf.project_name}-{sf.deployment_name}-{sf.module_name}"


def _parameter_name(field: str) -> str:
    return field.replace("_", "-")


# Parameters seedfarmer JSON-encodes; the others are plain strings.
STRUCTURED_PARAMETERS = ("infra_repo", "model_build_repo", "deployment_groups", "tags")
# Parameters that are maps from user-chosen keys: their keys are shown quoted, e.g. tags['aws:x'].
_MAP_PARAMETERS = frozenset({"tags"})
_ECHO_LIMIT = 60


def _location(
    prefix: str, loc: tuple[int | str, ...], *, keyed: bool = False, field_names: bool = True
) -> str:
    path = prefix
    for index, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        elif (keyed and index == 0) or not part.isprintable():
            path += f"[{part!r}]"  # a user's map key, or one that would not print as it is
        elif part:
            # Defaults validated in place are located by field name; the user wrote camelCase. An
            # unknown key is shown exactly as written.
            key = to_camel(part) if field_names and "_" in part and path else part
            path += f".{key}" if path else key
    return path


def _echo(given: object) -> str:
    """Show the offending value on one line, cut short when long."""
    text = repr(given)
    if isinstance(given, str) and len(given) > _ECHO_LIMIT:
        text = f"{given[:_ECHO_LIMIT]!r}... ({len(given)} characters)"
    elif len(text) > _ECHO_LIMIT:  # a number of thousands of digits
        text = f"{text[:_ECHO_LIMIT]}... ({len(text)} characters)"
    return text


# pydantic's wording for the types of error a manifest can produce, in the manifest's terms.
_PLAIN: dict[str, str] = {
    "string_type": "must be a string (in quotes)",
    "string_unicode": "must be valid Unicode text (it holds a lone surrogate, as undecodable bytes become)",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "dict_type": "must be an object ({...})",
    "model_type": "must be an object ({...})",
    "model_attributes_type": "must be an object ({...})",
    "tuple_type": "must be a list ([...])",
    "list_type": "must be a list ([...])",
}


@functools.cache
def _places_of_keys() -> dict[str, list[str]]:
    """Every key the input takes, with the places it belongs, as the README's tables name them."""
    places: dict[str, list[str]] = {}
    models: list[tuple[type[BaseModel], str]] = [
        (ModuleParameters, "the module's parameters"),
        (InfraRepositorySettings, "infra-repo"),
        (DeploymentGroupSettings, "a deployment group"),
        (BuildEnvironmentSettings, "buildEnvironment"),
        (DeployEnvironmentSettings, "deployEnvironments[i]"),
        (EndpointSettings, "endpoint"),
        (AutoScalingSettings, "endpoint.autoScaling"),
    ]
    for model, place in models:
        for field in model.model_fields:
            key = _parameter_name(field) if model is ModuleParameters else to_camel(field)
            places.setdefault(key, []).append(place)
    return places


# Why a key that belongs elsewhere is not taken here, where the reason is not obvious.
_WHY_ELSEWHERE = {
    "region": "deploy environments serve from their group's build region",
    "branch": "the model-build repository's branches are the groups' sourceBranch",
}


def _unknown_key(key: object) -> str:
    """An unknown key: a key of another place says where it belongs, a near miss says what was meant."""
    places = _places_of_keys()
    if isinstance(key, str) and key in places:
        why = f"; {_WHY_ELSEWHERE[key]}" if key in _WHY_ELSEWHERE else ""
        return f"not a key here: it belongs in {' or '.join(places[key])}{why}"
    if isinstance(key, str):
        camel = to_camel(key.replace("-", "_"))
        if camel != key and camel in places:
            return f"unknown key: keys inside values are camelCase ({camel!r})"
    return "unknown key (check its spelling)"


def _unquoted(given: object, field: object) -> str | None:
    """What YAML made of a value that should have been quoted, e.g. an account read as an (octal) number."""
    if isinstance(given, bool):
        return (
            f"must be a string: quote it; YAML read it as {str(given).lower()} "
            "(unquoted yes, no, on, off, true and false are booleans to YAML)"
        )
    if field != "account" or not isinstance(given, int | float):
        return None
    quote = "must be a string of 12 digits: quote it"
    if isinstance(given, int) and given >= 0 and len(str(given)) == 12:
        return f"{quote} ('{given}'); YAML read it as the number {given}"
    if isinstance(given, int) and given >= 0 and len(f"0{given:o}") == 12:
        return f"{quote} ('0{given:o}'); YAML read an unquoted 0{given:o} as the octal number {given}"
    return f"{quote}; YAML read it as the number {given!r}"


def _describe(error: Mapping[str, Any], *, echo: bool = True) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    loc = tuple(error.get("loc") or ())
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return _unknown_key(loc[-1] if loc else None)
    if kind == "string_type":
        unquoted = _unquoted(error.get("input"), loc[-1] if loc else None)
        if unquoted:
            return unquoted
    if kind in _PLAIN:
        message = _PLAIN[kind]
    elif kind == "too_short" and ctx.get("min_length") == 1:
        message = "must not be empty"
    elif kind == "greater_than_equal":
        message = f"must be at least {ctx['ge']}"
    elif kind == "less_than_equal":
        message = f"must be at most {ctx['le']}"
    elif kind == "string_too_long":
        message = f"must be at most {ctx['max_length']} characters"
    else:
        message = str(error["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")
    given = error.get("input")
    if echo and isinstance(given, str | int | float | bool) and given != "":
        message += f", got {_echo(given)}"
    return message


def _problems(error: ValidationError, name_of: Any, missing_hint: Any, skip: frozenset[str]) -> list[str]:
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        if not loc:
            problems.append(_describe(item))
            continue
        head, rest = str(loc[0]), loc[1:]
        if head in skip:
            continue  # already reported, e.g. as invalid JSON
        description = _describe(item)
        if rest and rest[-1] == "[key]":  # a map's key, shown in the label already
            rest, description = rest[:-1], f"key {_describe(item, echo=False)}"
        label = _location(
            name_of(head),
            rest,
            keyed=head in _MAP_PARAMETERS,
            field_names=item["type"] != "extra_forbidden",
        )
        line = f"{label}: {description}"
        if item["type"] == "missing" and not rest:
            line += f" ({missing_hint(head)})"
        problems.append(line)
    return problems


def _unknown_parameters(environ: Mapping[str, str]) -> list[str]:
    known = {PARAMETER_PREFIX + field.upper() for field in ModuleParameters.model_fields}
    return [
        f"{_parameter_name(name.removeprefix(PARAMETER_PREFIX).lower())}: unknown parameter "
        f"({name}); known: {', '.join(_parameter_name(f) for f in ModuleParameters.model_fields)}"
        for name in sorted(environ)
        if name.startswith(PARAMETER_PREFIX) and name not in known
    ]


def _parameter_values(environ: Mapping[str, str]) -> tuple[dict[str, Any], list[str], frozenset[str]]:
    """Read the parameters present, JSON-decoding structured ones.

    Returns the values, one problem per value that is not JSON, and those values' fields.
    """
    values: dict[str, Any] = {}
    problems = []
    unparsable = set()
    for field in ModuleParameters.model_fields:
        variable = PARAMETER_PREFIX + field.upper()
        if variable not in environ:
            continue
        if field not in STRUCTURED_PARAMETERS:
            values[field] = environ[variable]
            continue
        text = environ[variable]
        try:
            if len(text) > PARAMETER_SIZE_LIMIT:
                raise ValueError(f"{len(text)} characters, at most {PARAMETER_SIZE_LIMIT} are read")
            values[field] = json.loads(text, object_pairs_hook=unique_keys)
        except (ValueError, RecursionError, MemoryError) as error:
            reason = "nested too deeply" if isinstance(error, RecursionError) else str(error) or "too large"
            problems.append(f"{_parameter_name(field)}: is not valid JSON ({variable}): {reason}")
            unparsable.add(field)
            continue
        if (undecodable := _lone_surrogate(values[field])) is not None:
            loc, given = undecodable
            label = _location(_parameter_name(field), loc, keyed=field in _MAP_PARAMETERS, field_names=False)
            problems.append(f"{label}: {_PLAIN['string_unicode']}, got {_echo(given)}")
            unparsable.add(field)
    return values, problems, frozenset(unparsable)


def _lone_surrogate(document: object) -> tuple[tuple[int | str, ...], str] | None:
    """Where a decoded JSON value holds text UTF-8 cannot encode, and that text; None if nowhere.

    A JSON escape of half a surrogate pair, or bytes of the environment that were not UTF-8, give such
    text; pydantic would show it as a replacement character, so it is found first and shown escaped.
    Iterative: the value may be deep.
    """
    stack: list[tuple[tuple[int | str, ...], object]] = [((), document)]
    while stack:
        loc, value = stack.pop()
        items: list[tuple[int | str, object]] = []
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return loc, value
        elif isinstance(value, dict):
            for key, item in value.items():
                try:
                    key.encode("utf-8")
                except UnicodeEncodeError:
                    return (*loc, key), key
                items.append((key, item))
        elif isinstance(value, list):
            items = list(enumerate(value))
        stack.extend(((*loc, key), item) for key, item in reversed(items))
    return None


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different: with a repeated key, which value counts is a guess."""
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"duplicate key {key!r}")
        document[key] = value
    return document


def _prefixed(environ: Mapping[str, str], prefix: str, model: type[BaseModel]) -> dict[str, str]:
    """Read the model's fields from ``<prefix><FIELD>``, exactly as :func:`carried_environment` does."""
    return {
        field: environ[prefix + field.upper()]
        for field in model.model_fields
        if prefix + field.upper() in environ
    }


def carried_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Pick the variables the pipelines' synth steps carry to re-synthesize exactly as seedfarmer did."""
    return {
        name: value
        for name, value in sorted(environ.items())
        if name.startswith(PARAMETER_PREFIX)
        or name in {f"{SEEDFARMER_PREFIX}{f.upper()}" for f in SeedFarmerContext.model_fields}
        or name in {f"{CDK_PREFIX}{f.upper()}" for f in ToolingEnvironment.model_fields}
    }


def _groups_from_file(values: dict[str, Any], module_folder: Path) -> tuple[str | None, list[str], bool]:
    """Put the groups ``deployment-groups-file`` names where the inline parameter would be.

    The file keeps the groups out of the module manifest seedfarmer stores in SSM (8 KB at most). Returns
    the label for problems inside the file (parameter and file name), the problems met reading it, and
    whether the groups are missing because of them (so they are not also reported as required).
    """
    given = values.get("deployment_groups_file")
    if given is None:
        return None, [], False
    if "deployment_groups" in values:
        return None, ["deployment-groups, deployment-groups-file: give one of them, not both"], False
    try:
        relative = TypeAdapter(ModuleFile).validate_python(given)
    except ValidationError:
        return None, [], True  # ModuleParameters reports the rule
    where = f"{_parameter_name('deployment_groups_file')} {relative}"
    groups, problem = _read_groups_file(module_folder, relative)
    if problem:
        return None, [f"{where}: {problem}"], True
    values["deployment_groups"] = groups
    return where, [], False


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML whose mappings never repeat a key: PyYAML would silently keep the last value."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # '<<' merges another mapping in; its keys may be overridden on purpose
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in first_line
            except TypeError:
                continue  # an unhashable key: the base class says so
            if repeated:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} given twice (first on line {first_line[key]})",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _read_groups_file(module_folder: Path, relative: str) -> tuple[Any, str | None]:
    """The file's content, or what stops it being read."""
    path = module_folder / relative
    if not path.resolve().is_relative_to(module_folder.resolve()):
        return None, f"leads outside the module's folder ({module_folder})"
    try:
        size = path.stat().st_size
        if size > GROUPS_FILE_SIZE_LIMIT:
            return None, f"is {size:,} bytes; at most {GROUPS_FILE_SIZE_LIMIT:,} are read"
        # A SafeLoader: constructs plain data only, as yaml.safe_load does.
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader), None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return None, f"cannot be read in the module's folder ({module_folder}): {reason}"
    except yaml.YAMLError as error:
        return None, f"is not valid YAML or JSON{_yaml_problem(error)}"
    except (RecursionError, MemoryError):
        return None, "cannot be read: nested too deeply or too large"


def _yaml_problem(error: yaml.YAMLError) -> str:
    """Where and what, on one line: PyYAML's own message spans several and quotes the text."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    if mark is None or problem is None:
        return f": {' '.join(str(error).split())}"
    return f" (line {mark.line + 1}, column {mark.column + 1}): {problem}"


def _missing_parameter_hint(field: str) -> str:
    hint = f"add it to the module's parameters, passed as {PARAMETER_PREFIX}{field.upper()}"
    if field == "deployment_groups":
        hint += ", or name a file holding the list with deployment-groups-file"
    return hint


def load_settings(
    environ: Mapping[str, str] | None = None, *, module_folder: Path = MODULE_FOLDER
) -> ApplicationSettings:
    """Read and validate every input; raise :class:`SettingsError` listing all problems.

    Variables are read from ``environ`` (the process environment by default) exactly as spelled (upper
    case), the same ones :func:`carried_environment` carries; ``deployment-groups-file`` is read from
    ``module_folder``.
    """
    env = dict(os.environ if environ is None else environ)
    values, json_problems, unparsable = _parameter_values(env)
    groups_label, file_problems, groups_unreadable = _groups_from_file(values, module_folder)
    if groups_unreadable:
        unparsable |= {"deployment_groups"}
    problems = _unknown_parameters(env) + json_problems + file_problems

    parts: dict[str, Any] = {}
    sources: list[tuple[str, type[BaseModel], dict[str, Any], Any, Any]] = [
        (
            "parameters",
            ModuleParameters,
            values,
            lambda f: groups_label if f == "deployment_groups" and groups_label else _parameter_name(f),
            _missing_parameter_hint,
        ),
        (
            "seedfarmer",
            SeedFarmerContext,
            _prefixed(env, SEEDFARMER_PREFIX, SeedFarmerContext),
            lambda f: SEEDFARMER_PREFIX + f.upper(),
            lambda f: f"seedfarmer sets it; outside seedfarmer, set {SEEDFARMER_PREFIX}{f.upper()}",
        ),
        (
            "tooling",
            ToolingEnvironment,
            _prefixed(env, CDK_PREFIX, ToolingEnvironment),
            lambda f: CDK_PREFIX + f.upper(),
            lambda f: (
                f"the CDK CLI sets it from your AWS credentials; else set {CDK_PREFIX}{f.upper()} "
                + ("to the tooling account's ID" if f == "account" else "to the tooling region")
            ),
        ),
    ]
    for key, model, given, name_of, missing_hint in sources:
        try:
            parts[key] = model.model_validate(given)
        except ValidationError as error:
            skip = unparsable if key == "parameters" else frozenset()
            problems += _problems(error, name_of, missing_hint, skip)
    if "seedfarmer" in parts:
        problems += _stack_name_problems(
            parts["seedfarmer"],
            parts.get("parameters"),
            parts.get("tooling"),
            groups_label or _parameter_name("deployment_groups"),
        )
    info, group = _approved_model(env, parts.get("parameters"), problems)
    if len(problems) > PROBLEMS_SHOWN:
        hidden = len(problems) - PROBLEMS_SHOWN + 1
        problems = [
            *problems[: PROBLEMS_SHOWN - 1],
            f"{hidden} more problems not shown: fix those above first",
        ]
    if problems:
        raise SettingsError(problems)
    return ApplicationSettings(
        **parts,
        carried_environment=carried_environment(env),
        approved_model_info=info,
        approved_model_group=group,
    )


_STACK_NAME_VARIABLES = "SEEDFARMER_PROJECT_NAME, SEEDFARMER_DEPLOYMENT_NAME, SEEDFARMER_MODULE_NAME"


def _stack_name_problems(
    seedfarmer: SeedFarmerContext,
    parameters: ModuleParameters | None,
    tooling: ToolingEnvironment | None,
    groups_where: str,
) -> list[str]:
    """The top stack's name and those of its ``-support-<region>`` stacks, which are never shortened.

    The top stack is named exactly as ``seedfarmer metadata convert`` expects; the infra pipeline's
    artifact-copy stack for each build region other than the tooling region is named after it (as CDK
    names its own), and CDK fails inside the synth on a name over CloudFormation's limit. The stage
    stacks are shortened to fit.
    """
    stack_name = f"{seedfarmer.project_name}-{seedfarmer.deployment_name}-{seedfarmer.module_name}"
    if not stack_name[0].isalpha():
        return [
            "SEEDFARMER_PROJECT_NAME: must start with a letter: it begins the stack name "
            "'<project>-<deployment>-<module>', and CloudFormation stack names do, "
            f"got {seedfarmer.project_name!r}"
        ]
    if len(stack_name) > CLOUDFORMATION_STACK:
        return [
            f"{_STACK_NAME_VARIABLES}: the stack name '<project>-<deployment>-<module>' would be "
            f"{len(stack_name)} characters; CloudFormation allows at most {CLOUDFORMATION_STACK}"
        ]
    if parameters is None or tooling is None:
        return []
    first_group_in: dict[str, int] = {}
    for index, group in enumerate(parameters.deployment_groups):
        first_group_in.setdefault(group.build_environment.region, index)
    problems = []
    for region, index in first_group_in.items():
        support = cross_region_support_stack(stack_name, region)
        if region != tooling.region and len(support) > CLOUDFORMATION_STACK:
            problems.append(
                f"{_STACK_NAME_VARIABLES}: the stack name '<project>-<deployment>-<module>' is "
                f"{len(stack_name)} characters; with {groups_where}[{index}].buildEnvironment.region "
                f"{region!r} (not the tooling region) the infra pipeline needs the stack "
                f"'<stack name>-support-{region}', "
                f"{len(support)} characters, and CloudFormation allows at most {CLOUDFORMATION_STACK}"
            )
    return problems


def _approved_model(
    env: Mapping[str, str], parameters: ModuleParameters | None, problems: list[str]
) -> tuple[str | None, str | None]:
    """The deploy pipeline's model, for its own group only; the JSON is checked where it is used."""
    info = env.get(APPROVED_MODEL_INFO_VARIABLE, "").strip()
    group = env.get(APPROVED_MODEL_GROUP_VARIABLE, "").strip()
    if not info or info == NO_APPROVED_MODEL:
        return None, None
    if not group:
        problems.append(
            f"{APPROVED_MODEL_GROUP_VARIABLE}: is required when {APPROVED_MODEL_INFO_VARIABLE} is set "
            "(set it to the deployment group the model was approved in)"
        )
        return None, None
    if parameters is not None and group not in {g.name for g in parameters.deployment_groups}:
        known = ", ".join(g.name for g in parameters.deployment_groups)
        problems.append(
            f"{APPROVED_MODEL_GROUP_VARIABLE}: no deployment group named {group!r} (known: {known})"
        )
    return info, group
