"""The model build stack (stages/model_build.py): its pipeline, project and role, from the shared synth."""

from __future__ import annotations

import json

import yaml
from aws_cdk.assertions import Match

from tests.conftest import ROOT, Synth
from tests.template_harness import source_stage, template

BUILD_VARIABLES = {
    "BUILD_REGION",
    "PIPELINE_CODE_PREFIX",
    "MODEL_ARTIFACTS_PREFIX",
    "SAMPLE_PAYLOADS_PREFIX",
    "ASSUME_ROLE_ARN",
    "SAGEMAKER_PIPELINE_ROLE_ARN",
    "SAGEMAKER_PIPELINE_NAME",
    "SAGEMAKER_PIPELINE_DESCRIPTION",
    "MODEL_PACKAGE_GROUP_NAME",
    "ARTIFACT_BUCKET",
    "ARTIFACT_BUCKET_KMS_KEY",
    "ENV_TYPE",
    "PROJECT_NAME",
}


def test_model_builds_keep_what_the_buildspec_lists_in_their_artifact_bucket(example_synth: Synth) -> None:
    stack = example_synth.stack("prod-deployment-group/ModelBuild")
    (project,) = [
        r["Properties"]
        for r in stack.template["Resources"].values()
        if r["Type"] == "AWS::CodeBuild::Project"
    ]
    (bucket,) = [
        k
        for k, r in stack.template["Resources"].items()
        if k.startswith("ArtifactStoreBucket") and r["Type"] == "AWS::S3::Bucket"
    ]
    assert project["Cache"] == {
        "Location": {"Fn::Join": ["/", [{"Ref": bucket}, "build-cache"]]},
        "Type": "S3",
    }
    buildspec = yaml.safe_load((ROOT / "examples" / "model-build-repo" / "buildspec.yml").read_text())
    assert buildspec["cache"]["paths"] == ["/root/.cache/pip/**/*"]


def test_model_build_project_gets_exactly_the_contract_variables(example_synth: Synth) -> None:
    build = template(example_synth, "prod-deployment-group/ModelBuild")
    (project,) = build.find_resources("AWS::CodeBuild::Project").values()
    variables = {v["Name"]: v["Value"] for v in project["Properties"]["Environment"]["EnvironmentVariables"]}
    assert set(variables) == BUILD_VARIABLES
    assert variables["BUILD_REGION"] == "us-east-1"
    assert variables["ENV_TYPE"] == "preprod"
    assert variables["PROJECT_NAME"] == "mlops"
    assert variables["MODEL_PACKAGE_GROUP_NAME"].endswith("-models")


def test_model_build_project_may_only_assume_its_build_account_role(example_synth: Synth) -> None:
    build = template(example_synth, "prod-deployment-group/ModelBuild")
    (project,) = build.find_resources("AWS::CodeBuild::Project").values()
    role_ref = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in build.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_ref} in p["Properties"]["Roles"]
    ]
    statements = [s for doc in policies for s in doc]
    assumes = [s for s in statements if "sts:AssumeRole" in json.dumps(s["Action"])]
    assert len(assumes) == 1
    assert "123456789015:role/" in json.dumps(assumes[0]["Resource"])
    allowed = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    unexpected = {
        a for a in allowed if not a.startswith(("logs:", "codebuild:", "s3:", "kms:", "sts:AssumeRole"))
    }
    assert not unexpected


def test_model_build_pipeline_runs_on_the_group_branch(example_synth: Synth) -> None:
    build = template(example_synth, "experimenation-deployment-group/ModelBuild")
    build.has_resource_properties(
        "AWS::CodePipeline::Pipeline",
        {
            "PipelineType": "V2",
            "Stages": Match.array_with(
                [
                    source_stage(
                        {
                            "RepositoryName": "model-build-repo",
                            "BranchName": "dev",
                            "PollForSourceChanges": False,
                        }
                    )
                ]
            ),
        },
    )
    build.has_resource_properties(
        "AWS::Events::Rule",
        {"EventPattern": Match.object_like({"detail": Match.object_like({"referenceName": ["dev"]})})},
    )
