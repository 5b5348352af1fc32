"""The three sources seedfarmer's variables fill: the manifest's parameters, seedfarmer's names, tooling."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from settings.fields import (
    CDK_TAG_KEYS,
    MODULE_TAG_KEYS,
    RESOURCE_TAG_LIMITS,
    TAGS_LIMIT,
    AccountId,
    IamPolicyArn,
    IamPolicyName,
    ModuleFile,
    S3BucketArn,
    SeedFarmerName,
    TagKey,
    TagValue,
    ToolingRegion,
    repeated_names,
)
from settings.models import DeploymentGroupSettings
from settings.notifications import NotificationSettings
from settings.repositories import InfraRepositorySettings, RepositorySettings


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
