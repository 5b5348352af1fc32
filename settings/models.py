"""The manifest's deployment groups and their environments (how each serves: settings.endpoint)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, StrictBool, model_validator

from settings.endpoint import DEV_DATA_CAPTURE_EXPIRY_DAYS, EndpointSettings
from settings.fields import AccountId, BranchName, BuildRegion, ResourceName, repeated_names
from settings.inputs import Input
from settings.rollout_plan import RolloutPlan, endpoint_facts, resolve_endpoint_rollout
from settings.rollout_problems import raise_problems, serverless_region_problems


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
