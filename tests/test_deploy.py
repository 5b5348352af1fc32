"""What an approved model changes, across the shared synths: only its own group's endpoint stacks, never a
pipeline. Each part of the deploy path has its own file (test_model_deploy, test_deploy_trigger, …)."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from app import CDK_JSON
from blocks.governance import Governance
from settings import load_settings
from stages.endpoint import EndpointStack
from stages.model_deploy import ModelDeployStack
from tests.conftest import StackArtifact, Synth, approved_model_environment, seedfarmer_environment
from tests.template_harness import EXPERIMENT, PROD, endpoint_stacks

ENDPOINT_TYPES = ("AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint")


def kinds(stack: StackArtifact) -> set[str]:
    return {r["Type"] for r in stack.template.get("Resources", {}).values()}


def test_without_a_model_every_endpoint_stack_is_a_placeholder(example_synth: Synth) -> None:
    for group in (PROD, EXPERIMENT):
        stacks = endpoint_stacks(example_synth, group)
        assert stacks
        for env, stack in stacks.items():
            assert not kinds(stack) & set(ENDPOINT_TYPES), env


def test_with_a_model_its_group_gets_real_endpoints_in_every_target(approved_synth: Synth) -> None:
    stacks = endpoint_stacks(approved_synth, PROD)
    assert set(stacks) == {"prod-train-env", "prod-approval-env", "prod-env"}
    for env, stack in stacks.items():
        assert set(ENDPOINT_TYPES) <= kinds(stack), env
        template = Template.from_json(stack.template)
        template.has_resource_properties(
            "AWS::SageMaker::Model",
            {
                "Containers": [
                    {"ModelPackageName": Match.string_like_regexp(r":123456789015:model-package/.+/3$")}
                ]
            },
        )
    for stack in endpoint_stacks(approved_synth, EXPERIMENT).values():
        assert not kinds(stack) & set(ENDPOINT_TYPES), "another group's model never reaches this group"


@pytest.mark.parametrize("group", [PROD, EXPERIMENT])
def test_deploy_pipeline_is_the_same_with_and_without_a_model(
    example_synth: Synth, approved_synth: Synth, group: str
) -> None:
    """The infra pipeline deploys it from a synth without a model; the deploy pipeline never self-mutates."""
    assert (
        approved_synth.stack(f"{group}/ModelDeploy").template
        == example_synth.stack(f"{group}/ModelDeploy").template
    )


def test_only_endpoint_stacks_change_with_the_model(example_synth: Synth, approved_synth: Synth) -> None:
    changed = {
        name
        for name, stack in approved_synth.stacks.items()
        if stack.template != example_synth.stacks[name].template
    }
    assert changed == {
        f"MlopsCicd/{PROD}/ModelDeploy/{env}/Endpoint"
        for env in ("prod-train-env", "prod-approval-env", "prod-env")
    }


def test_endpoint_stacks_have_no_assets(approved_synth: Synth) -> None:
    for stack in endpoint_stacks(approved_synth, PROD).values():
        assert stack.assets_file is not None
        assets = json.loads(stack.assets_file.read_text())
        files = {
            k
            for k, v in assets.get("files", {}).items()
            if not v["source"]["path"].endswith(".template.json")
        }
        assert not files
        assert not assets.get("dockerImages")


def test_infra_pipeline_deploys_no_endpoint_stack(example_synth: Synth) -> None:
    (pipeline,) = [
        r["Properties"]
        for s, _, r in example_synth.resources("AWS::CodePipeline::Pipeline")
        if s.display_name == "MlopsCicd"
    ]
    assert "endpoint" not in json.dumps(pipeline["Stages"]).lower()


def test_each_groups_approval_reaches_its_own_three_targets() -> None:
    """With the prod group's (approved_synth), all six targets of the README example get a real endpoint.

    Built in this process, not synthesized: where each endpoint stack lands is decided at construction,
    by the group's deploy stack; so that stack alone, as its group's stage builds it.
    """
    settings = load_settings(seedfarmer_environment(extra=approved_model_environment(EXPERIMENT)))
    (plan,) = [plan for plan in settings.groups if plan.name == EXPERIMENT]
    app = cdk.App(context=json.loads(CDK_JSON.read_text())["context"])  # its feature flags
    ModelDeployStack(
        app,
        "ModelDeploy",
        env=cdk.Environment(account=settings.tooling.account, region=settings.tooling.region),
        governance=Governance(tags=settings.resource_tags, tooling_account=settings.tooling.account),
        plan=plan,
        infra_repo=settings.parameters.infra_repo,
        carried_environment=settings.carried_environment,
        access_logs_bucket_name="tooling-access-logs",
        stack_name=plan.stack_name("model-deploy"),
    )
    placement = {
        stack.node.path.split("/")[-2]: (stack.account, stack.region)
        for stack in app.node.find_all()
        if isinstance(stack, EndpointStack) and stack.node.try_find_child("Endpoint") is not None
    }
    assert placement == {
        "experiment-env1": ("123456789012", "us-east-1"),
        "experiment-env2": ("123456789013", "us-east-1"),
        "experiment-env3": ("123456789014", "us-east-1"),
    }
