"""The module's input contract: what seedfarmer hands over, validated once, in the user's spelling.

Seedfarmer passes each manifest parameter as ``SEEDFARMER_PARAMETER_<NAME_IN_UPPER_SNAKE>`` (non-string
values JSON-encoded), the project, deployment and module names as ``SEEDFARMER_*`` and the tooling
account as ``CDK_DEFAULT_*``. The infra pipeline re-synthesizes this module without seedfarmer; its synth
step carries the same variables (see :func:`carried_environment`), so settings are read the same way
everywhere. Every problem is reported as one line naming the parameter and the path inside it, e.g.
``deployment-groups[1].buildEnvironment.account: must be 12 digits, got '12345'``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

PARAMETER_PREFIX = "SEEDFARMER_PARAMETER_"
SEEDFARMER_PREFIX = "SEEDFARMER_"
CDK_PREFIX = "CDK_DEFAULT_"
APPROVED_MODEL_INFO_VARIABLE = "APPROVED_MODEL_INFO"


class SettingsError(Exception):
    """Bad input: one human-readable line per problem, no traceback wanted."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _matching(pattern: str, rule: str) -> AfterValidator:
    """A validator that states the rule in words instead of echoing a regular expression."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(rule)
        return value

    return AfterValidator(check)


AccountId = Annotated[str, _matching(r"\d{12}", "must be 12 digits")]
Region = Annotated[
    str,
    _matching(
        r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}",
        "must be an AWS region such as us-east-1",
    ),
]
# Group and environment names become parts of stack, stage, role and bucket names.
ResourceName = Annotated[
    str,
    _matching(
        r"[A-Za-z](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?",
        "must be 1-64 letters, digits or hyphens, start with a letter and not end with a hyphen",
    ),
]
CodeCommitRepositoryName = Annotated[
    str,
    _matching(
        r"(?!.*\.git$)[\w.-]{1,100}",
        "must be a CodeCommit repository name: 1-100 letters, digits, '.', '_' or '-'",
    ),
]
BranchName = Annotated[
    str,
    _matching(
        r"(?!-)(?!.*\.\.)(?!.*//)(?!.*\.lock$)(?!.*/$)[^\s~^:?*\[\\\x00-\x1f\x7f]{1,255}",
        "must be a git branch name (no spaces, '..', '~', '^', ':', '?', '*', '[' or '\\')",
    ),
]
RelativePath = Annotated[
    str,
    _matching(
        r"(?!/)(?!.*(^|/)\.\.(/|$))[\w./-]{1,255}",
        "must be a relative folder inside the repository (no leading '/', no '..')",
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
        "must be letters, digits or hyphens, as seedfarmer names are",
    ),
]


class EnvironmentType(StrEnum):
    """How precious an environment is: prod gets a manual approval, preprod/prod keep their data."""

    DEV = "dev"
    PREPROD = "preprod"
    PROD = "prod"


class _Input(BaseModel):
    """Manifest values: camelCase keys, unknown keys rejected so a typo never passes silently."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, validate_by_name=True
    )


class RepositorySettings(_Input):
    """A source repository the pipelines read."""

    host: Literal["codecommit"] = Field(description="Where the repository lives.")
    name: CodeCommitRepositoryName = Field(description="The repository's name.")


class InfraRepositorySettings(RepositorySettings):
    """The repository holding this module's code, which the infra pipeline re-synthesizes."""

    branch: BranchName = Field("main", description="Branch the infra and deploy pipelines read.")
    path: RelativePath = Field(".", description="Folder of the repository that holds this module.")


class AutoScalingSettings(_Input):
    """Target tracking on invocations per instance."""

    min_capacity: int = Field(ge=1, le=100)
    max_capacity: int = Field(ge=1, le=100)
    target_invocations_per_instance: int = Field(ge=1, le=100_000)

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
    initial_instance_count: int = Field(1, ge=1, le=100)
    auto_scaling: AutoScalingSettings | None = None
    data_capture_percentage: int = Field(0, ge=0, le=100)
    vpc: bool = True
    subnet_ids_parameter: SsmParameterName | None = None
    security_group_id_parameter: SsmParameterName | None = None


class DeployEnvironmentSettings(_Input):
    """An account serving a group's approved models."""

    name: ResourceName
    account: AccountId
    type: EnvironmentType
    endpoint: EndpointSettings = EndpointSettings()
    require_approval: bool | None = None

    @property
    def needs_approval(self) -> bool:
        """Prod asks a human first unless the environment says otherwise."""
        if self.require_approval is not None:
            return self.require_approval
        return self.type is EnvironmentType.PROD


class BuildEnvironmentSettings(DeployEnvironmentSettings):
    """The account (and region) where a group's models are trained and registered."""

    region: Region


class DeploymentGroupSettings(_Input):
    """A git branch, the account that trains on it and the accounts that serve its models."""

    name: ResourceName
    source_branch: BranchName
    build_environment: BuildEnvironmentSettings
    deploy_environments: tuple[DeployEnvironmentSettings, ...] = ()

    @model_validator(mode="after")
    def _environment_names_unique(self) -> DeploymentGroupSettings:
        names = [self.build_environment.name, *(env.name for env in self.deploy_environments)]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"environment names must be unique within a group, repeated: {', '.join(duplicates)}")
        return self


def _tag_map(tags: dict[str, str]) -> dict[str, str]:
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            raise ValueError(f"tag key {key!r} must be 1-128 characters and not start with 'aws:'")
        if len(value) > 256:
            raise ValueError(f"tag {key!r} value must be at most 256 characters")
    return tags


class ModuleParameters(BaseSettings):
    """The manifest's ``parameters``, as seedfarmer exports them."""

    model_config = SettingsConfigDict(env_prefix=PARAMETER_PREFIX, extra="forbid", frozen=True)

    infra_repo: InfraRepositorySettings
    model_build_repo: RepositorySettings
    deployment_groups: tuple[DeploymentGroupSettings, ...] = Field(min_length=1)
    permissions_boundary_name: IamPolicyName | None = None
    s3_access_logs_bucket_arn: S3BucketArn | None = None
    tags: Annotated[dict[str, str], AfterValidator(_tag_map)] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _group_names_unique(self) -> ModuleParameters:
        names = [group.name.lower() for group in self.deployment_groups]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"deployment group names must be unique, repeated: {', '.join(duplicates)}")
        return self


class SeedFarmerContext(BaseSettings):
    """Who deploys the module: seedfarmer's project, deployment and module names."""

    model_config = SettingsConfigDict(env_prefix=SEEDFARMER_PREFIX, extra="ignore", frozen=True)

    project_name: SeedFarmerName
    deployment_name: SeedFarmerName
    module_name: SeedFarmerName
    permissions_boundary_arn: IamPolicyArn | None = None


class ToolingEnvironment(BaseSettings):
    """The tooling account and region, where the module's pipelines live."""

    model_config = SettingsConfigDict(env_prefix=CDK_PREFIX, extra="ignore", frozen=True)

    account: AccountId
    region: Region


class ApplicationSettings(BaseModel):
    """Everything the app needs, read and checked once."""

    model_config = ConfigDict(frozen=True)

    parameters: ModuleParameters
    seedfarmer: SeedFarmerContext
    tooling: ToolingEnvironment
    carried_environment: dict[str, str]

    @property
    def stack_name(self) -> str:
        """Exactly what ``seedfarmer metadata convert`` looks for: never shortened."""
        sf = self.seedfarmer
        return f"{sf.project_name}-{sf.deployment_name}-{sf.module_name}"


def _parameter_name(field: str) -> str:
    return field.replace("_", "-")


def _location(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part:
            path += f".{part}" if path else part
    return path


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "unknown key (check its spelling)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "literal_error":
        message = message.replace("Input should be", "must be")
    elif kind == "enum":
        message = message.replace("Input should be", "must be")
    if kind in {"value_error", "assertion_error"} and error["loc"] == ():
        return message
    given = error.get("input")
    if isinstance(given, str | int | float | bool) and not isinstance(given, dict):
        message += f", got {given!r}"
    return message


def _problems(
    error: ValidationError, name_of: Any, variable_of: Any
) -> list[str]:
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        if not loc:
            problems.append(_describe(item))
            continue
        head, rest = str(loc[0]), loc[1:]
        label = _location(name_of(head), rest)
        line = f"{label}: {_describe(item)}"
        if item["type"] == "missing" and not rest:
            line += f" (set {variable_of(head)})"
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


def _unparsable_json(environ: Mapping[str, str]) -> list[str]:
    """pydantic-settings stops at the first bad JSON value; report every one, by parameter name."""
    structured = ("infra_repo", "model_build_repo", "deployment_groups", "tags")
    problems = []
    for field in structured:
        variable = PARAMETER_PREFIX + field.upper()
        if variable in environ:
            try:
                json.loads(environ[variable])
            except ValueError as error:
                problems.append(f"{_parameter_name(field)}: is not valid JSON ({variable}): {error}")
    return problems


def carried_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables the pipelines' synth steps must carry to re-synthesize exactly as seedfarmer did."""
    return {
        name: value
        for name, value in sorted(environ.items())
        if name.startswith(PARAMETER_PREFIX)
        or name in {f"{SEEDFARMER_PREFIX}{f.upper()}" for f in SeedFarmerContext.model_fields}
        or name in {f"{CDK_PREFIX}{f.upper()}" for f in ToolingEnvironment.model_fields}
    }


def load_settings() -> ApplicationSettings:
    """Read and validate every input from the environment; raise :class:`SettingsError` listing all problems."""
    env = dict(os.environ)
    problems = _unknown_parameters(env) + _unparsable_json(env)
    if problems:
        raise SettingsError(problems)

    parts: dict[str, Any] = {}
    sources: list[tuple[str, type[BaseSettings], Any, Any]] = [
        ("parameters", ModuleParameters, _parameter_name, lambda f: PARAMETER_PREFIX + f.upper()),
        (
            "seedfarmer",
            SeedFarmerContext,
            lambda f: SEEDFARMER_PREFIX + f.upper(),
            lambda f: f"{SEEDFARMER_PREFIX}{f.upper()} (seedfarmer sets it; by hand, export it)",
        ),
        (
            "tooling",
            ToolingEnvironment,
            lambda f: CDK_PREFIX + f.upper(),
            lambda f: f"{CDK_PREFIX}{f.upper()} to the tooling account's {f}",
        ),
    ]
    for key, model, name_of, variable_of in sources:
        try:
            parts[key] = model()
        except ValidationError as error:
            problems += _problems(error, name_of, variable_of)
        except PydanticSettingsError as error:
            problems.append(str(error))
    if problems:
        raise SettingsError(problems)
    return ApplicationSettings(**parts, carried_environment=carried_environment(env))
