"""Fifty groups fit: CodePipeline, CloudFormation and IAM limits hold, or the synth says which does not."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_s3 as s3

from quotas import TEMPLATE_BYTES, check_pipeline, check_templates, pack
from settings import SettingsError, load_settings
from tests.conftest import Synth, seedfarmer_environment

FIFTY = 50
ROLE_INLINE_POLICY_CHARACTERS = 10_240  # IAM: all inline policies of one role, whitespace excluded


def infra_pipeline(synth: Synth) -> dict[str, Any]:
    pipeline: dict[str, Any]
    (pipeline,) = [
        r["Properties"]
        for s, _, r in synth.resources("AWS::CodePipeline::Pipeline")
        if s.display_name == "MlopsCicd"
    ]
    return pipeline


def test_the_infra_pipeline_deploys_all_fifty_groups(fifty_groups_synth: Synth) -> None:
    """Stage and action counts the synth itself checks (quotas.check_pipeline); here, that none is lost."""
    stages = infra_pipeline(fifty_groups_synth)["Stages"]
    deployed = {
        match.group(1)
        for stage in stages
        for action in stage["Actions"]
        if (match := re.search(r"-(group-\d{3})-build-support", action["Configuration"].get("StackName", "")))
    }
    assert len(deployed) == FIFTY


def test_every_action_configuration_value_fits_codepipeline(fifty_groups_synth: Synth) -> None:
    """CodePipeline takes at most 1000 characters per configuration value; the synth does not check it."""
    pipelines = list(fifty_groups_synth.resources("AWS::CodePipeline::Pipeline"))
    assert len(pipelines) == 1 + 2 * FIFTY
    for stack, _, pipeline in pipelines:
        for stage in pipeline["Properties"]["Stages"]:
            for action in stage["Actions"]:
                for value in action.get("Configuration", {}).values():
                    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
                    assert len(text) <= 1000, f"{stack.display_name}: {action['Name']}"


def test_build_support_deploys_before_the_pipelines_that_refer_to_it(fifty_groups_synth: Synth) -> None:
    order: dict[str, dict[str, int]] = defaultdict(dict)
    for stage in infra_pipeline(fifty_groups_synth)["Stages"]:
        for action in stage["Actions"]:
            stack_name = action.get("Configuration", {}).get("StackName", "")
            match = re.search(r"-(group-\d{3})-(build-support|model-build|model-deploy)$", stack_name)
            if match and action["Configuration"]["ActionMode"] == "CHANGE_SET_EXECUTE":
                order[match.group(1)][match.group(2)] = action["RunOrder"]
    assert len(order) == FIFTY
    for group, runs in order.items():
        assert runs["build-support"] < runs["model-build"], group
        assert runs["build-support"] < runs["model-deploy"], group


def test_every_role_fits_iams_inline_policy_size(fifty_groups_synth: Synth) -> None:
    sizes: dict[tuple[str, str], int] = defaultdict(int)
    for stack, _, policy in fifty_groups_synth.resources("AWS::IAM::Policy"):
        document = json.dumps(policy["Properties"]["PolicyDocument"], separators=(",", ":"))
        for role in policy["Properties"].get("Roles", []):
            sizes[(stack.display_name, json.dumps(role))] += len(document)
    assert sizes
    assert max(sizes.values()) <= ROLE_INLINE_POLICY_CHARACTERS, max(sizes, key=sizes.__getitem__)


def test_groups_pack_in_order_into_stages_of_fifty_actions() -> None:
    assert pack([6] * 9) == [[0, 1, 2, 3, 4, 5, 6, 7], [8]]
    assert pack([6, 10, 40, 2]) == [[0, 1], [2, 3]]
    assert pack([]) == []
    with pytest.raises(SettingsError, match=r"deployment-groups\[1\]: needs 52 pipeline actions"):
        pack([2, 52])


def test_a_pipeline_that_cannot_fit_names_the_limit() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Pipelines", env=cdk.Environment(account="111111111111", region="us-east-1"))
    pipeline = codepipeline.Pipeline(stack, "Pipeline")
    source = codepipeline.Artifact()
    pipeline.add_stage(
        stage_name="Source",
        actions=[
            actions.S3SourceAction(
                action_name="Source",
                bucket=s3.Bucket.from_bucket_name(stack, "Bucket", "bucket"),
                bucket_key="key",
                output=source,
            )
        ],
    )
    pipeline.add_stage(
        stage_name="Wide", actions=[actions.ManualApprovalAction(action_name=f"A{n}") for n in range(51)]
    )
    for n in range(49):
        pipeline.add_stage(stage_name=f"S{n}", actions=[actions.ManualApprovalAction(action_name="A")])
    with pytest.raises(SettingsError) as raised:
        check_pipeline(pipeline, "deploy pipeline of group-000")
    assert raised.value.problems == [
        "deploy pipeline of group-000: 51 stages, CodePipeline allows 50 per pipeline",
        "deploy pipeline of group-000: stage Wide has 51 actions, CodePipeline allows 50 per stage",
    ]


def _assembly(folder: Path, templates: dict[str, dict[str, Any]]) -> str:
    for relative, template in templates.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(json.dumps(template))
    return str(folder)


def test_a_template_over_cloudformations_limits_names_the_groups_count_and_size(tmp_path: Path) -> None:
    """Measured, not forecast: the line names the parameter, how many groups were given and the size."""
    parameters = load_settings(seedfarmer_environment()).parameters
    padding = "x" * (TEMPLATE_BYTES + 10)
    outdir = _assembly(
        tmp_path,
        {
            "MlopsCicd.template.json": {
                "Resources": {f"R{i}": {} for i in range(501)},
                "Description": padding,
            },
            "assembly-MlopsCicd-prod-deployment-group/Deploy.template.json": {"Description": padding},
            "assembly-MlopsCicd-prod-deployment-group/Small.template.json": {"Resources": {}},
        },
    )
    size = (tmp_path / "MlopsCicd.template.json").stat().st_size
    group_size = (
        (tmp_path / "assembly-MlopsCicd-prod-deployment-group" / "Deploy.template.json").stat().st_size
    )
    with pytest.raises(SettingsError) as caught:
        check_templates(outdir, parameters)
    assert caught.value.problems == [
        "deployment-groups: 2 groups given, and with them the template MlopsCicd.template.json has "
        f"501 resources (CloudFormation allows 500) and {size:,} bytes (CloudFormation allows 1,000,000 "
        "per template); give fewer groups",
        "deployment-groups[1] (prod-deployment-group): its template Deploy.template.json has "
        f"{group_size:,} bytes (CloudFormation allows 1,000,000 per template)",
    ]


def test_templates_within_cloudformations_limits_pass(tmp_path: Path) -> None:
    parameters = load_settings(seedfarmer_environment()).parameters
    outdir = _assembly(
        tmp_path, {"MlopsCicd.template.json": {"Resources": {f"R{i}": {} for i in range(500)}}}
    )
    check_templates(outdir, parameters)
