"""``load_settings``: every input read and checked once, every problem reported at once."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from names import CLOUDFORMATION_STACK, cross_region_support_stack
from settings.application import ApplicationSettings
from settings.approved_model import NO_APPROVED_MODEL, check_model_belongs_to_group, parse_approved_model
from settings.environment import (
    carried_environment,
    missing_parameter_hint,
    parameter_values,
    prefixed,
    unknown_parameters,
)
from settings.errors import PROBLEMS_SHOWN, SettingsError, validation_problems
from settings.group_plan import GroupPlan, group_names
from settings.groups_file import MODULE_FOLDER, groups_from_file
from settings.models import ModuleParameters, SeedFarmerContext, ToolingEnvironment
from settings.notifications import tooling_problems
from settings.variables import (
    APPROVED_MODEL_GROUP_VARIABLE,
    APPROVED_MODEL_INFO_VARIABLE,
    CDK_PREFIX,
    SEEDFARMER_PREFIX,
    parameter_name,
    variable,
)


def load_settings(environ: Mapping[str, str], *, module_folder: Path = MODULE_FOLDER) -> ApplicationSettings:
    """Read and validate every input; raise :class:`SettingsError` listing all problems.

    Pure: variables are read from ``environ`` exactly as spelled (upper case), the same ones
    :func:`carried_environment` carries; ``deployment-groups-file`` is read from ``module_folder``.
    """
    env = dict(environ)
    values, json_problems, unparsable = parameter_values(env)
    groups_label, file_problems, groups_unreadable = groups_from_file(values, module_folder)
    if groups_unreadable:
        unparsable |= {"deployment_groups"}
    problems = unknown_parameters(env) + json_problems + file_problems

    parts: dict[str, Any] = {}
    sources: list[tuple[str, type[BaseModel], dict[str, Any], Any, Any]] = [
        (
            "parameters",
            ModuleParameters,
            values,
            lambda f: groups_label if f == "deployment_groups" and groups_label else parameter_name(f),
            missing_parameter_hint,
        ),
        (
            "seedfarmer",
            SeedFarmerContext,
            prefixed(env, SEEDFARMER_PREFIX, SeedFarmerContext),
            lambda f: variable(SEEDFARMER_PREFIX, f),
            lambda f: f"seedfarmer sets it; outside seedfarmer, set {variable(SEEDFARMER_PREFIX, f)}",
        ),
        (
            "tooling",
            ToolingEnvironment,
            prefixed(env, CDK_PREFIX, ToolingEnvironment),
            lambda f: variable(CDK_PREFIX, f),
            lambda f: (
                f"the CDK CLI sets it from your AWS credentials; else set {variable(CDK_PREFIX, f)} "
                + ("to the tooling account's ID" if f == "account" else "to the tooling region")
            ),
        ),
    ]
    for key, model, given, name_of, missing_hint in sources:
        try:
            parts[key] = model.model_validate(given)
        except ValidationError as error:
            skip = unparsable if key == "parameters" else frozenset()
            problems += validation_problems(error, name_of, missing_hint, skip)
    if "seedfarmer" in parts:
        problems += _stack_name_problems(
            parts["seedfarmer"],
            parts.get("parameters"),
            parts.get("tooling"),
            groups_label or parameter_name("deployment_groups"),
        )
    if "parameters" in parts and "tooling" in parts and parts["parameters"].notifications is not None:
        problems += tooling_problems(
            parts["parameters"].notifications,
            tooling_account=parts["tooling"].account,
            tooling_region=parts["tooling"].region,
        )
    info, approved_group = _approved_model(env, parts.get("parameters"), problems)
    groups: tuple[GroupPlan, ...] = ()
    if not problems:
        groups, model_problems = _group_plans(parts["parameters"], parts["seedfarmer"], info, approved_group)
        problems += model_problems
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
        approved_model_group=approved_group,
        groups=groups,
    )


def _group_plans(
    parameters: ModuleParameters, seedfarmer: SeedFarmerContext, info: str | None, approved_group: str | None
) -> tuple[tuple[GroupPlan, ...], list[str]]:
    """Each group resolved, the approved model parsed and checked against the one group it belongs to."""
    plans = []
    problems: list[str] = []
    for index, group in enumerate(parameters.deployment_groups):
        names = group_names(seedfarmer.stack_name, group)
        model = None
        if group.name == approved_group:
            try:
                model = parse_approved_model(info)
            except SettingsError as error:
                problems += error.problems
            if model is not None:
                problems += check_model_belongs_to_group(model, names)
        plans.append(
            GroupPlan(
                index=index,
                group=group,
                names=names,
                project_name=seedfarmer.project_name,
                approved_model=model,
            )
        )
    return tuple(plans), problems


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
    stack_name = seedfarmer.stack_name
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
