"""The resolved input: everything the app needs, read and checked once."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SkipValidation

from settings.fields import MODULE_TAG_KEYS
from settings.group_plan import GroupPlan
from settings.module_inputs import ModuleParameters, SeedFarmerContext, ToolingEnvironment


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
    groups: SkipValidation[tuple[GroupPlan, ...]] = ()
    """Every deployment group resolved, in the manifest's order: what stack.py and plan.py iterate."""

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
        return self.seedfarmer.stack_name
