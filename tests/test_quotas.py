"""Fifty groups fit: CodePipeline, CloudFormation and IAM limits hold, or the synth says which does not."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from benchmarks.synth_benchmark import groups
from quotas import check_templates, pack
from settings import SettingsError
from tests.conftest import Synth, codecommit_parameters, seedfarmer_environment
from tests.test_app import run_app

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


def test_a_template_over_cloudformations_limits_fails_the_synth_with_the_numbers(tmp_path: Path) -> None:
    """What the synth checks on every assembly (the fifty groups' synth passing it shows they fit)."""
    resources = {
        f"Topic{n}": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "x" * 2000}}
        for n in range(501)
    }
    (tmp_path / "Big.template.json").write_text(json.dumps({"Resources": resources}))
    (tmp_path / "Small.template.json").write_text(json.dumps({"Resources": {}}))
    with pytest.raises(SettingsError) as raised:
        check_templates(str(tmp_path))
    size = (tmp_path / "Big.template.json").stat().st_size
    assert raised.value.problems == [
        "Big.template.json: 501 resources, CloudFormation allows 500",
        f"Big.template.json: {size} bytes, CloudFormation allows 1000000",
    ]


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


def test_a_deploy_pipeline_that_cannot_fit_names_the_limit() -> None:
    group = groups(1)[0]
    group["deployEnvironments"] = [
        {"name": f"env-{index}", "account": f"{300000000000 + index:012d}", "type": "dev"}
        for index in range(49)
    ]
    result = run_app(seedfarmer_environment(codecommit_parameters([group])))
    assert result.returncode == 2
    assert (
        "error: deploy pipeline of group-000: 52 stages, CodePipeline allows 50 per pipeline" in result.stderr
    )
