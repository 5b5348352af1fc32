"""The module's input contract: what seedfarmer hands over, validated once, in the user's spelling.

``load_settings(environ)`` reads seedfarmer's variables (:mod:`settings.variables` states their names,
:mod:`settings.environment` reads them) into the manifest's models (:mod:`settings.models`,
:mod:`settings.repositories`, :mod:`settings.notifications`, field types in :mod:`settings.fields`),
parses the approved model (:mod:`settings.approved_model`) and resolves each deployment group into a
:class:`settings.group_plan.GroupPlan`. Every problem is one line naming the parameter and the path inside
it (:mod:`settings.errors`), e.g. ``deployment-groups[1].buildEnvironment.account: must be 12 digits``.
"""

from settings.application import ApplicationSettings
from settings.approved_model import (
    APPROVED_MODEL_INFO_LIMIT,
    NO_APPROVED_MODEL,
    ApprovedModel,
    parse_approved_model,
)
from settings.environment import PARAMETER_SIZE_LIMIT, carried_environment, unique_keys
from settings.errors import PROBLEMS_SHOWN, SettingsError
from settings.fields import (
    CDK_TAG_KEYS,
    MODULE_TAG_KEYS,
    RESOURCE_TAG_LIMITS,
    TAGS_LIMIT,
    TOOLING_REGION_SERVICES,
    regions_offering,
)
from settings.group_plan import DeployWave, GroupPlan, deploy_targets, deploy_waves
from settings.groups_file import GROUPS_FILE_SIZE_LIMIT, MODULE_FOLDER
from settings.loader import load_settings
from settings.models import (
    AutoScalingSettings,
    BuildEnvironmentSettings,
    DeployEnvironmentSettings,
    DeploymentGroupSettings,
    DeployOrder,
    EndpointSettings,
    EnvironmentType,
    ModuleParameters,
    SeedFarmerContext,
    ToolingEnvironment,
)
from settings.notifications import NotificationSettings
from settings.repositories import InfraRepositorySettings, RepositorySettings
from settings.variables import (
    APPROVED_MODEL_GROUP_VARIABLE,
    APPROVED_MODEL_INFO_VARIABLE,
    CDK_PREFIX,
    PARAMETER_PREFIX,
    SEEDFARMER_PREFIX,
    upper_snake,
    variable,
)

__all__ = [
    "APPROVED_MODEL_GROUP_VARIABLE",
    "APPROVED_MODEL_INFO_LIMIT",
    "APPROVED_MODEL_INFO_VARIABLE",
    "CDK_PREFIX",
    "CDK_TAG_KEYS",
    "GROUPS_FILE_SIZE_LIMIT",
    "MODULE_FOLDER",
    "MODULE_TAG_KEYS",
    "NO_APPROVED_MODEL",
    "PARAMETER_PREFIX",
    "PARAMETER_SIZE_LIMIT",
    "PROBLEMS_SHOWN",
    "RESOURCE_TAG_LIMITS",
    "SEEDFARMER_PREFIX",
    "TAGS_LIMIT",
    "TOOLING_REGION_SERVICES",
    "ApplicationSettings",
    "ApprovedModel",
    "AutoScalingSettings",
    "BuildEnvironmentSettings",
    "DeployEnvironmentSettings",
    "DeployOrder",
    "DeployWave",
    "DeploymentGroupSettings",
    "EndpointSettings",
    "EnvironmentType",
    "GroupPlan",
    "InfraRepositorySettings",
    "ModuleParameters",
    "NotificationSettings",
    "RepositorySettings",
    "SeedFarmerContext",
    "SettingsError",
    "ToolingEnvironment",
    "carried_environment",
    "deploy_targets",
    "deploy_waves",
    "load_settings",
    "parse_approved_model",
    "regions_offering",
    "unique_keys",
    "upper_snake",
    "variable",
]
