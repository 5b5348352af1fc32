"""The README's "Roll back": approving an earlier version again deploys it, from the registry's event
through the approval trigger to the endpoint stacks the deploy pipeline's synth makes of its record.

The trigger runs from its source against moto; the synth is in-process, the group's endpoint stages only
(what the deploy pipeline deploys), with the README example's VPC values answered as the target accounts
would answer its lookups.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk.assertions import Template

from blocks.governance import Governance
from settings import ApplicationSettings, ApprovedModel, load_settings
from stages.model_deploy import EndpointStage
from tests.conftest import (
    ROOT,
    manifest_parameters,
    network_lookups,
    resolve_partition,
    seedfarmer_environment,
)
from tests.lambda_harness import (  # noqa: F401 - the fixtures "aws" and "aws_env"
    PARAMETER,
    PIPELINE,
    SOURCE_HANDLER,
    FakeContext,
    fake_aws_environment,
    load_handler,
    model_package_event,
    moto_account,
    sns_event,
)

GROUP = "prod-deployment-group"
CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
PLAN = load_settings(seedfarmer_environment()).groups[1]
IMAGES = "683313688378.dkr.ecr.us-east-1.amazonaws.com"


def version(number: int, image: str) -> ApprovedModel:
    """A version of the README example's prod group, each with its own artifact and image."""
    names = PLAN.names
    return ApprovedModel(
        model_package_arn=(
            f"arn:aws:sagemaker:{names.build_region}:{names.build_account}:"
            f"model-package/{names.model_package_group}/{number}"
        ),
        model_data_url=f"s3://{names.artifacts_bucket}/models/pipelines-{number}/model.tar.gz",
        image_uri=f"{IMAGES}/{image}",
    )


EARLIER = version(3, "sagemaker-scikit-learn:1.2-1-cpu-py3")
LATER = version(4, "sagemaker-xgboost:1.7-1")
EARLIER_REPOSITORY = "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-scikit-learn"


def approval(model: ApprovedModel) -> dict[str, Any]:
    """The registry's "Approved" event for ``model``, as EventBridge sends it through the topic."""
    event = model_package_event(group=PLAN.names.model_package_group, arn=model.model_package_arn)
    event["account"], event["region"] = PLAN.names.build_account, PLAN.names.build_region
    (container,) = event["detail"]["InferenceSpecification"]["Containers"]
    container["ModelDataUrl"], container["Image"] = model.model_data_url, model.image_uri
    return sns_event(event)


def newest_execution_model() -> dict[str, str]:
    """The model the newest deploy execution was started with (its pipeline variable, decoded)."""
    pipelines = boto3.client("codepipeline")
    newest = pipelines.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"][0]
    execution = pipelines.get_pipeline_execution(
        pipelineName=PIPELINE, pipelineExecutionId=newest["pipelineExecutionId"]
    )["pipelineExecution"]
    (variable,) = execution["variables"]
    decoded: dict[str, str] = json.loads(base64.b64decode(variable["resolvedValue"]))
    return decoded


def endpoint_templates(settings: ApplicationSettings) -> dict[str, dict[str, Any]]:
    """The prod group's endpoint stacks, as the deploy pipeline's synth makes them from ``settings``."""
    plan = settings.groups[1]
    governance = Governance(
        tags=settings.resource_tags,
        tooling_account=settings.tooling.account,
        boundary_name=settings.parameters.permissions_boundary_name,
        tooling_boundary_arn=settings.seedfarmer.permissions_boundary_arn,
    )
    app = cdk.App(context={**CONTEXT, **network_lookups(manifest_parameters())})
    stages = {
        target.name: EndpointStage(
            app,
            target.name,
            env=cdk.Environment(account=target.account, region=plan.names.build_region),
            governance=governance,
            plan=plan,
            environment=target,
        )
        for target in plan.targets
    }
    return {name: dict(Template.from_stack(stage.endpoint).to_json()) for name, stage in stages.items()}


def properties(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def test_approving_an_earlier_version_again_deploys_it_everywhere(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, value in {
        "MODEL_PACKAGE_GROUP_NAME": PLAN.names.model_package_group,
        "MODEL_PACKAGE_ACCOUNT": PLAN.names.build_account,
        "MODEL_PACKAGE_REGION": PLAN.names.build_region,
    }.items():
        monkeypatch.setenv(variable, value)
    trigger = load_handler(SOURCE_HANDLER)
    # Version 4 was approved and deployed (moto finishes executions at once); then version 3 again.
    assert len(trigger.handler(approval(LATER), FakeContext())["started"]) == 1
    rolled_back = trigger.handler(approval(EARLIER), FakeContext())

    assert len(rolled_back["started"]) == 1
    recorded = boto3.client("ssm").get_parameter(Name=PARAMETER)["Parameter"]["Value"]
    earlier = {
        "imageUri": EARLIER.image_uri,
        "modelDataUrl": EARLIER.model_data_url,
        "modelPackageArn": EARLIER.model_package_arn,
    }
    assert json.loads(recorded) == earlier == newest_execution_model()
    # What the deploy synth reads resolves to version 3, and each endpoint stack serves it.
    settings = load_settings(
        seedfarmer_environment(extra={"APPROVED_MODEL_INFO": recorded, "APPROVED_MODEL_GROUP": GROUP})
    )
    assert settings.groups[1].approved_model == EARLIER
    templates = endpoint_templates(settings)
    assert sorted(templates) == sorted(target.name for target in PLAN.targets)
    for name, template in templates.items():
        (model,) = properties(template, "AWS::SageMaker::Model")
        assert model["Containers"] == [{"ModelPackageName": EARLIER.model_package_arn}], name
        role_statements = [
            statement
            for role in properties(template, "AWS::IAM::Role")
            for policy in role.get("Policies", [])
            for statement in policy["PolicyDocument"]["Statement"]
        ]
        (pull,) = [s for s in role_statements if s.get("Sid") == "PullModelImage"]
        assert resolve_partition(pull["Resource"]) == EARLIER_REPOSITORY, name
        assert LATER.model_package_arn not in json.dumps(template), name
        assert "sagemaker-xgboost" not in json.dumps(template), name
