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

from settings import SettingsError

PIPELINE_STAGES = 50
STAGE_ACTIONS = 50
TEMPLATE_RESOURCES = 500
TEMPLATE_BYTES = 1_000_000


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
    """Fail the synth, with the numbers, if ``pipeline`` has more stages or actions than allowed."""
    problems = []
    if pipeline.stage_count > PIPELINE_STAGES:
        problems.append(
            f"{what}: {pipeline.stage_count} stages, CodePipeline allows {PIPELINE_STAGES} per pipeline"
        )
    for stage in pipeline.stages:
        if len(stage.actions) > STAGE_ACTIONS:
            problems.append(
                f"{what}: stage {stage.stage_name} has {len(stage.actions)} actions, "
                f"CodePipeline allows {STAGE_ACTIONS} per stage"
            )
    if problems:
        raise SettingsError(problems)


def check_templates(outdir: str) -> None:
    """Fail the synth if any template of the cloud assembly exceeds CloudFormation's size limits."""
    problems = []
    for path in sorted(Path(outdir).rglob("*.template.json")):
        size = path.stat().st_size
        resources = len(json.loads(path.read_text()).get("Resources", {}))
        if resources > TEMPLATE_RESOURCES:
            problems.append(f"{path.name}: {resources} resources, CloudFormation allows {TEMPLATE_RESOURCES}")
        if size > TEMPLATE_BYTES:
            problems.append(f"{path.name}: {size} bytes, CloudFormation allows {TEMPLATE_BYTES}")
    if problems:
        raise SettingsError(problems)
