"""Hosted repositories: every pipeline reads through the CodeConnections connection, none from CodeCommit."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Synth

CONNECTION = "arn:aws:codeconnections:us-east-1:111111111111:connection/0b9e7b0c-1d2e-4f3a-8b4c-5d6e7f8a9b0c"


def pipelines(synth: Synth) -> dict[str, dict[str, Any]]:
    return {
        stack.display_name: r["Properties"] for stack, _, r in synth.resources("AWS::CodePipeline::Pipeline")
    }


def source_actions(pipeline: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for s in pipeline["Stages"] for a in s["Actions"] if a["ActionTypeId"]["Category"] == "Source"]


def test_every_source_reads_through_the_connection(github_synth: Synth) -> None:
    found = pipelines(github_synth)
    assert len(found) == 5
    for name, pipeline in found.items():
        (action,) = source_actions(pipeline)
        assert action["ActionTypeId"]["Provider"] == "CodeStarSourceConnection", name
        assert action["Configuration"]["ConnectionArn"] == CONNECTION, name
    assert "CodeCommit" not in json.dumps(found)
    assert not list(github_synth.resources("AWS::Events::Rule")) or all(
        "codecommit" not in json.dumps(r) for _, _, r in github_synth.resources("AWS::Events::Rule")
    )


def test_each_pipeline_reads_its_repository_and_branch(github_synth: Synth) -> None:
    found = pipelines(github_synth)
    expected = {
        "MlopsCicd": ("my-org/mlops-infra", "main", True),
        "MlopsCicd/experiments/ModelBuild": ("my-org/churn-model-build", "dev", True),
        "MlopsCicd/production/ModelBuild": ("my-org/churn-model-build", "main", True),
        "MlopsCicd/experiments/ModelDeploy": ("my-org/mlops-infra", "main", False),
        "MlopsCicd/production/ModelDeploy": ("my-org/mlops-infra", "main", False),
    }
    for name, (repository, branch, on_push) in expected.items():
        (action,) = source_actions(found[name])
        configuration = action["Configuration"]
        assert configuration["FullRepositoryId"] == repository, name
        assert configuration["BranchName"] == branch, name
        assert configuration.get("DetectChanges", True) is on_push, name


def test_model_build_pipelines_run_on_pushes_to_their_branch_only(github_synth: Synth) -> None:
    found = pipelines(github_synth)
    for group, branch in (("experiments", "dev"), ("production", "main")):
        (trigger,) = found[f"MlopsCicd/{group}/ModelBuild"]["Triggers"]
        assert trigger["ProviderType"] == "CodeStarSourceConnection"
        (push,) = trigger["GitConfiguration"]["Push"]
        assert push["Branches"]["Includes"] == [branch]


def test_source_roles_may_use_that_connection_only(github_synth: Synth) -> None:
    uses = [
        statement
        for _, _, policy in github_synth.resources("AWS::IAM::Policy")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "UseConnection" in json.dumps(statement["Action"])
    ]
    actions = {a for s in uses for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {"codestar-connections:UseConnection", "codeconnections:UseConnection"}
    assert all(s["Resource"] == CONNECTION for s in uses)
    codeconnections = [s for s in uses if s["Action"] == "codeconnections:UseConnection"]
    assert len(codeconnections) == 5, "one per pipeline's source action role"
