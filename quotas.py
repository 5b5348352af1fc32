"""Service quotas the module's pipelines and templates must fit, checked at synth with the numbers.

CodePipeline allows 50 stages per pipeline and 50 actions per stage; CloudFormation 500 resources and
1 MB per template (deployed from S3, as the pipelines and ``cdk deploy`` do). A configuration that
cannot fit fails the synth here, saying which limit and by how much, instead of failing in AWS later.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import aws_codepipeline as codepipeline

from names import CODEPIPELINE, bounded
from settings.errors import SettingsError
from settings.module_inputs import ModuleParameters

PIPELINE_STAGES = 50
STAGE_ACTIONS = 50
TEMPLATE_RESOURCES = 500
TEMPLATE_BYTES = 1_000_000
TOP_STACK_ID = "MlopsCicd"
"""The top stack's construct id; each group's stage is an assembly named after it and the group."""


def pack(weights: Sequence[int], capacity: int = STAGE_ACTIONS) -> list[list[int]]:
    """Consecutive indexes of ``weights`` in as few batches as fit ``capacity`` each, in order.

    Order is kept so that adding a group at the end never moves the groups before it.
    """
    batches: list[list[int]] = []
    load = capacity
    for index, weight in enumerate(weights):
        if weight > capacity:
            raise SettingsError(
                [f"deployment-groups[{index}]: needs {weight} pipeline actions; a stage allows {capacity}"]
            )
        if load + weight > capacity:
            batches.append([])
            load = 0
        batches[-1].append(index)
        load += weight
    return batches


def check_pipeline(pipeline: codepipeline.Pipeline, what: str) -> None:
    """Fail the synth, with the numbers, if ``pipeline`` has more stages or actions than allowed.

    Each property read is a jsii round trip, so each is read once.
    """
    problems = []
    stages = pipeline.stages
    if len(stages) > PIPELINE_STAGES:
        problems.append(f"{what}: {len(stages)} stages, CodePipeline allows {PIPELINE_STAGES} per pipeline")
    for stage in stages:
        actions = len(stage.actions)
        if actions > STAGE_ACTIONS:
            problems.append(
                f"{what}: stage {stage.stage_name} has {actions} actions, "
                f"CodePipeline allows {STAGE_ACTIONS} per stage"
            )
    if problems:
        raise SettingsError(problems)


def check_templates(outdir: str, parameters: ModuleParameters) -> None:
    """Fail the synth if any template of the cloud assembly exceeds CloudFormation's size limits.

    The top stack grows with the groups (one preflight, detail parameter and pipeline actions each), so
    its problem names the groups' parameter and the count given; a group's own stacks are named by group.
    The numbers are the template's own, not a forecast of how many groups would fit.
    """
    where = (
        f"deployment-groups-file {parameters.deployment_groups_file}"
        if parameters.deployment_groups_file
        else "deployment-groups"
    )
    groups = parameters.deployment_groups
    by_construct_id = {bounded(group.name, CODEPIPELINE): index for index, group in enumerate(groups)}
    problems = []
    for path in sorted(Path(outdir).rglob("*.template.json")):
        size = path.stat().st_size
        resources = len(json.loads(path.read_text()).get("Resources", {}))
        over = []
        if resources > TEMPLATE_RESOURCES:
            over.append(f"{resources} resources (CloudFormation allows {TEMPLATE_RESOURCES})")
        if size > TEMPLATE_BYTES:
            over.append(f"{size:,} bytes (CloudFormation allows {TEMPLATE_BYTES:,} per template)")
        if not over:
            continue
        index = by_construct_id.get(path.parent.name.removeprefix(f"assembly-{TOP_STACK_ID}-"))
        if index is None:
            problems.append(
                f"{where}: {len(groups)} groups given, and with them the template {path.name} has "
                f"{' and '.join(over)}; give fewer groups"
            )
        else:
            problems.append(
                f"{where}[{index}] ({groups[index].name}): its template {path.name} has {' and '.join(over)}"
            )
    if problems:
        raise SettingsError(problems)
