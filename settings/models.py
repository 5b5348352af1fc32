"""The manifest's deployment groups and environments, and the three sources seedfarmer's variables fill."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, StrictBool, StrictInt, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from settings.fields import (
    CDK_TAG_KEYS,
    MODULE_TAG_KEYS,
    RESOURCE_TAG_LIMITS,
    TAGS_LIMIT,
    AccountId,
    BranchName,
    BuildRegion,
    IamPolicyArn,
    IamPolicyName,
    InstanceType,
    ModuleFile,
    ResourceName,
    S3BucketArn,
    SeedFarmerName,
    SsmParameterName,
    TagKey,
    TagValue,
    ToolingRegion,
    repeated_names,
)
from settings.inputs import Input
from settings.notifications import NotificationSettings
from settings.repositories import InfraRepositorySettings, RepositorySettings
from settings.rollout import AlarmSettings, RolloutSettings, ServerlessSettings
from settings.rollout_plan import RolloutPlan, endpoint_facts, resolve_endpoint_rollout
from settings.rollout_problems import raise_problems, serverless_region_problems

DEV_DATA_CAPTURE_EXPIRY_DAYS = 30
"""How long an environment that keeps no data keeps captured requests, unless it says otherwise."""


class EnvironmentType(StrEnum):
    """How precious an environment is: prod gets a manual approval, preprod/prod keep their data."""

    DEV = "dev"
    PREPROD = "preprod"
    PROD = "prod"

    @property
    def keeps_data(self) -> bool:
        """Whether its buckets, keys and registry outlive a destroy, and its captured data never expires."""
        return self is not EnvironmentType.DEV

    @property
    def asks_approval(self) -> bool:
        """Whether a deployment waits for a human unless the environment says otherwise."""
        return self is EnvironmentType.PROD


class DeployOrder(StrEnum):
    """How a deploy pipeline orders its environments after an approval."""

    BY_TYPE = "byType"
    """One stage per environment type, dev -> preprod -> prod, its environments side by side."""
    SEQUENTIAL = "sequential"
    """One stage per environment, one after another (the build environment first)."""


class AutoScalingSettings(Input):
    """Target tracking on invocations per instance."""

    min_capacity: StrictInt = Field(ge=1, le=100, description="Instances the scaler keeps at least.")
    max_capacity: StrictInt = Field(ge=1, le=100, description="Instances the scaler adds at most.")
    target_invocations_per_instance: StrictInt = Field(
        ge=1, le=100_000, description="Invocations per instance and minute the scaler tracks."
    )

    @model_validator(mode="after")
    def _min_not_above_max(self) -> AutoScalingSettings:
        if self.min_capacity > self.max_capacity:
            raise ValueError(
                f"minCapacity ({self.min_capacity}) must not exceed maxCapacity ({self.max_capacity})"
            )
        return self


class EndpointSettings(Input):
    """How one environment serves the approved model."""

    instance_type: InstanceType = Field("ml.m5.xlarge", description="The variant's instance type.")
    initial_instance_count: StrictInt = Field(1, ge=1, le=100, description="Instances at first deploy.")
    auto_scaling: AutoScalingSettings | None = Field(None, description="Target tracking; none: fixed count.")
    data_capture_percentage: StrictInt = Field(
        0, ge=0, le=100, description="Percent of requests and responses captured to S3; 0: no capture."
    )
    data_capture_expiry_days: StrictInt | None = Field(
        None,
        ge=1,
        le=36500,
        description=(
            "Captured data (and its noncurrent versions) expire after this many days; unless given, "
            f"{DEV_DATA_CAPTURE_EXPIRY_DAYS} where data is not kept (dev), never elsewhere."
        ),
    )
    vpc: StrictBool = Field(True, description="The model runs in the target account's VPC.")
    network_isolation: StrictBool = Field(
        True,
        description="The container gets no network access; off for one fetching code or packages at start.",
    )
    subnet_ids_parameter: SsmParameterName | None = Field(
        None, description="SSM parameter holding the subnet ids; default /<project>/vpc/subnets/private/ids."
    )
    security_group_id_parameter: SsmParameterName | None = Field(
        None, description="SSM parameter holding the security group id; default /<project>/vpc/sg/id."
    )
    rollout: RolloutSettings | None = Field(
        None, description="How an approved version replaces the running one; defaults per environment type."
    )
    alarms: AlarmSettings = Field(
        AlarmSettings(), description="The rollback alarms' thresholds, and up to 8 alarms of your own."
    )
    serverless: ServerlessSettings | None = Field(
        None, description="Serve on SageMaker Serverless Inference instead of instances (for dev)."
    )
    # A real-time XGBoost endpoint answers a few CSV rows in tens of milliseconds; the step adds the network.
    # At most 60 s: a container must answer InvokeEndpoint within that (SageMaker API Reference).
    smoke_test_max_latency_ms: StrictInt = Field(
        2_000,
        ge=1,
        le=60_000,
        description="The smoke test after each deploy fails a sample request answered more slowly (ms).",
    )

    def network_parameters(self, project_name: str) -> tuple[str, str]:
        """The SSM parameters holding the endpoint's subnet ids and security group id.

        Unless given, those an AWS networking module of the same seedfarmer project writes by convention.
        """
        return (
            self.subnet_ids_parameter or f"/{project_name}/vpc/subnets/private/ids",
            self.security_group_id_parameter or f"/{project_name}/vpc/sg/id",
        )


class DeployEnvironmentSettings(Input):
    """An account serving a group's approved models."""

    name: ResourceName = Field(description="Unique within the group (ignoring case); part of its names.")
    account: AccountId = Field(description="The account the endpoint is deployed to.")
    type: EnvironmentType = Field(description="dev, preprod or prod: whether data is kept, approval asked.")
    endpoint: EndpointSettings = Field(EndpointSettings(), description="How it serves the approved model.")
    require_approval: StrictBool | None = Field(
        None, description="A manual approval before deploying here; unless given, for prod only."
    )

    @model_validator(mode="after")
    def _rollout_fits_endpoint(self) -> DeployEnvironmentSettings:
        resolve_endpoint_rollout(prefix=("endpoint",), **endpoint_facts(self.endpoint, self.type.value))
        return self

    def rollout_plan(self, region: str) -> RolloutPlan:
        """The endpoint's rollout in ``region``, every default resolved (validated already: never raises)."""
        facts = endpoint_facts(self.endpoint, self.type.value)
        facts["region"] = region
        return resolve_endpoint_rollout(**facts)

    @property
    def needs_approval(self) -> bool:
        """Prod asks a human first unless the environment says otherwise."""
        if self.require_approval is not None:
            return self.require_approval
        return self.type.asks_approval

    @property
    def data_capture_expiry_days(self) -> int | None:
        """When captured data expires: as given, else 30 days where data is not kept, else never."""
        given = self.endpoint.data_capture_expiry_days
        if given is None and not self.type.keeps_data:
            return DEV_DATA_CAPTURE_EXPIRY_DAYS
        return given


class BuildEnvironmentSettings(DeployEnvironmentSettings):
    """The account (and region) where a group's models are trained and registered."""

    region: BuildRegion = Field(description="Where the group trains, registers and serves its models.")


class DeploymentGroupSettings(Input):
    """A git branch, the account that trains on it and the accounts that serve its models."""

    name: ResourceName = Field(description="Unique among the groups (ignoring case); part of every name.")
    source_branch: BranchName = Field(description="The model-build repository's branch this group trains.")
    build_environment: BuildEnvironmentSettings = Field(
        description="The account and region that train, register, and serve first."
    )
    deploy_environments: tuple[DeployEnvironmentSettings, ...] = Field(
        (), description="Further accounts serving the approved model, in the build region."
    )
    deploy_order: DeployOrder = Field(
        DeployOrder.BY_TYPE, description="byType: by environment type, side by side; sequential: one by one."
    )

    @model_validator(mode="after")
    def _environment_names_unique(self) -> DeploymentGroupSettings:
        repeated = repeated_names(
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

    @model_validator(mode="after")
    def _serverless_offered(self) -> DeploymentGroupSettings:
        environments = [
            (("buildEnvironment",), self.build_environment),
            *((("deployEnvironments", i), env) for i, env in enumerate(self.deploy_environments)),
        ]
        serverless_at = [(*where, "endpoint") for where, env in environments if env.endpoint.serverless]
        raise_problems(serverless_region_problems(self.build_environment.region, serverless_at))
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

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    infra_repo: InfraRepositorySettings = Field(description="The repository holding this module's code.")
    model_build_repo: RepositorySettings = Field(description="The repository holding the model build code.")
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
    permissions_boundary_name: IamPolicyName | None = Field(
        None, description="An IAM policy, present in every account, bounding every role the module makes."
    )
    s3_access_logs_bucket_arn: S3BucketArn | None = Field(
        None, description="The tooling account's bucket for S3 access logs; none: the module makes one."
    )
    tags: dict[TagKey, TagValue] = Field(
        default_factory=dict, description="Tags on every stack and resource, beside the module's own."
    )
    notifications: NotificationSettings | None = Field(
        None,
        description=(
            "Who hears about failed pipelines, approvals waiting and failed trainings (emails, an existing "
            "topic, a Slack channel configuration); none: nothing notification-related is created."
        ),
    )

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
        repeated = repeated_names([(f"[{i}]", group.name) for i, group in enumerate(groups)])
        if repeated:
            raise ValueError(f"group names must be unique (ignoring case), repeated: {repeated}")
        return groups


class SeedFarmerContext(_FromEnvironment):
    """Who deploys the module: seedfarmer's project, deployment and module names."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    project_name: SeedFarmerName = Field(description="Seedfarmer's project: begins the top stack's name.")
    deployment_name: SeedFarmerName = Field(description="Seedfarmer's deployment.")
    module_name: SeedFarmerName = Field(description="Seedfarmer's name for the module: <group>-<module>.")
    permissions_boundary_arn: IamPolicyArn | None = Field(
        None, description="The boundary seedfarmer puts on its roles, for the tooling account's roles too."
    )

    @property
    def stack_name(self) -> str:
        """The top stack's name, exactly what ``seedfarmer metadata convert`` looks for: never shortened."""
        return f"{self.project_name}-{self.deployment_name}-{self.module_name}"


class ToolingEnvironment(_FromEnvironment):
    """The tooling account and region, where the module's pipelines live."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    account: AccountId = Field(description="The tooling account, where the pipelines live.")
    region: ToolingRegion = Field(description="The tooling region.")
