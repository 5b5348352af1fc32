"""What the module deploys, read from the shared synths: snapshots for drift, assertions for intent."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk.assertions import Match
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import TOOLING_ACCOUNT, Synth
from tests.template_harness import source_stage, template

STACK_NAME = "mlops-demo-models-sagemaker-model-cicd"


def test_snapshots(example_synth: Synth, snapshot: SnapshotAssertion) -> None:
    """Every stack of the README example; read a diff before accepting it (--snapshot-update)."""
    json_snapshot = snapshot.use_extension(JSONSnapshotExtension)
    for name in sorted(example_synth.stacks):
        assert example_synth.stacks[name].template == json_snapshot(name=name.replace("/", "."))


def test_two_processes_write_the_same_bytes(example_synth: Synth, approved_synth: Synth) -> None:
    """Determinism across processes, for every template: the approved synth differs from the
    example only in the approving group's endpoint stacks (their own snapshots pin those across runs).
    The example goes through the CDK CLI, the approved synth through the suite's synth worker: this is
    also what proves the worker writes what the CLI would."""

    def templates(synth: Synth) -> dict[str, bytes]:
        files = synth.outdir.rglob("*.template.json")
        return {str(path.relative_to(synth.outdir)): path.read_bytes() for path in files}

    example, approved = templates(example_synth), templates(approved_synth)
    assert example.keys() == approved.keys()
    differ = sorted(name for name, text in example.items() if approved[name] != text)
    stacks = ["prodapprovalenvEndpoint81C1D16E", "prodenvEndpointF26B45B9", "prodtrainenvEndpointE7479BDE"]
    expected = [f"MlopsCicdproddeploymentgroupModelDeploy{stack}.template.json" for stack in stacks]
    assert [name.rsplit("/", 1)[1] for name in differ] == expected, differ


def test_stacks_land_in_the_right_accounts_and_regions(example_synth: Synth) -> None:
    placement = {name: (s.account, s.region) for name, s in example_synth.stacks.items()}
    tooling = (TOOLING_ACCOUNT, "us-east-1")
    experiment, prod = "MlopsCicd/experimenation-deployment-group", "MlopsCicd/prod-deployment-group"
    assert placement == {
        "MlopsCicd": tooling,
        f"{experiment}/BuildSupport": ("123456789012", "us-east-1"),
        f"{experiment}/ModelBuild": tooling,
        f"{experiment}/ModelDeploy": tooling,
        f"{experiment}/ModelDeploy/experiment-env1/Endpoint": ("123456789012", "us-east-1"),
        f"{experiment}/ModelDeploy/experiment-env2/Endpoint": ("123456789013", "us-east-1"),
        f"{experiment}/ModelDeploy/experiment-env3/Endpoint": ("123456789014", "us-east-1"),
        f"{prod}/BuildSupport": ("123456789015", "us-east-1"),
        f"{prod}/ModelBuild": tooling,
        f"{prod}/ModelDeploy": tooling,
        f"{prod}/ModelDeploy/prod-train-env/Endpoint": ("123456789015", "us-east-1"),
        f"{prod}/ModelDeploy/prod-approval-env/Endpoint": ("123456789016", "us-east-1"),
        f"{prod}/ModelDeploy/prod-env/Endpoint": ("123456789017", "us-east-1"),
    }


def test_top_stack_is_named_for_seedfarmer(example_synth: Synth) -> None:
    assert example_synth.stack("MlopsCicd").stack_name == STACK_NAME


def test_infra_pipeline_self_mutates_from_the_infra_repo(example_synth: Synth) -> None:
    top = template(example_synth, "MlopsCicd")
    top.has_resource_properties(
        "AWS::CodePipeline::Pipeline",
        {
            "Name": f"{STACK_NAME}-infra",
            "PipelineType": "V2",
            "Stages": Match.array_with(
                [
                    source_stage(
                        {"RepositoryName": "cdk-infra-repo", "BranchName": "main"},
                        ActionTypeId=Match.object_like({"Provider": "CodeCommit"}),
                    ),
                    Match.object_like({"Name": "UpdatePipeline"}),
                    Match.object_like({"Name": "Assets"}),
                    Match.object_like({"Name": "DeploymentGroups-1"}),
                ]
            ),
        },
    )
    pipeline = next(
        r
        for s, _, r in example_synth.resources("AWS::CodePipeline::Pipeline")
        if s.display_name == "MlopsCicd"
    )
    (groups,) = [s for s in pipeline["Properties"]["Stages"] if s["Name"].startswith("DeploymentGroups")]
    stacks = {a["Configuration"]["StackName"] for a in groups["Actions"] if a["Name"] != "Preflight"}
    assert stacks == {
        f"{STACK_NAME}-{group}-{kind}"
        for group in ("experimenation-deployment-group", "prod-deployment-group")
        for kind in ("build-support", "model-build", "model-deploy")
    }


def test_synth_step_carries_the_seedfarmer_environment(example_synth: Synth) -> None:
    projects = [
        r["Properties"]
        for stack, _, r in example_synth.resources("AWS::CodeBuild::Project")
        if "cdk synth" in json.dumps(r["Properties"]["Source"]) and stack.display_name == "MlopsCicd"
    ]
    assert len(projects) == 1
    variables = {v["Name"]: v["Value"] for v in projects[0]["Environment"]["EnvironmentVariables"]}
    assert variables["SEEDFARMER_PROJECT_NAME"] == "mlops"
    assert variables["SEEDFARMER_MODULE_NAME"] == "models-sagemaker-model-cicd"
    assert variables["CDK_DEFAULT_ACCOUNT"] == TOOLING_ACCOUNT
    groups = json.loads(variables["SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS"])
    assert [g["name"] for g in groups] == ["experimenation-deployment-group", "prod-deployment-group"]
    assert "SEEDFARMER_MODULE_METADATA" not in variables
    buildspec = json.loads(projects[0]["Source"]["BuildSpec"])
    assert buildspec["phases"]["build"]["commands"] == [
        "pip install -r requirements.txt",
        "npm ci --no-audit --no-fund",
        "npx cdk synth",
    ]


def test_log_groups_have_a_retention(example_synth: Synth) -> None:
    groups = list(example_synth.resources("AWS::Logs::LogGroup"))
    assert groups
    assert all("RetentionInDays" in r["Properties"] for _, _, r in groups)


# Long names, a boundary, tags, a user access-log bucket and a build region unlike the tooling one.

NAME_LIMITS = {
    ("AWS::IAM::Role", "RoleName"): (64, r"[\w+=,.@-]+"),
    ("AWS::S3::Bucket", "BucketName"): (63, r"[a-z0-9][a-z0-9-]*[a-z0-9]"),
    ("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupName"): (63, r"[a-z0-9](-*[a-z0-9])*"),
    ("AWS::SNS::Topic", "TopicName"): (256, r"[A-Za-z0-9_-]+"),
    ("AWS::CodePipeline::Pipeline", "Name"): (100, r"[A-Za-z0-9.@_-]+"),
}


@pytest.mark.parametrize(("kind", "prop"), list(NAME_LIMITS))
def test_names_fit_their_service_limits(long_names_synth: Synth, kind: str, prop: str) -> None:
    limit, pattern = NAME_LIMITS[(kind, prop)]
    names = [
        r["Properties"][prop]
        for _, _, r in long_names_synth.resources(kind)
        if isinstance(r["Properties"].get(prop), str)
    ]
    assert names
    for name in names:
        assert len(name) <= limit, name
        assert re.fullmatch(pattern, name), name
    assert len(names) == len(set(names))


def test_stage_and_action_names_fit_codepipeline(long_names_synth: Synth) -> None:
    for _, _, pipeline in long_names_synth.resources("AWS::CodePipeline::Pipeline"):
        for stage in pipeline["Properties"]["Stages"]:
            assert len(stage["Name"]) <= 100
            for action in stage["Actions"]:
                assert len(action["Name"]) <= 100


def test_top_stack_name_is_never_shortened(long_names_synth: Synth) -> None:
    assert long_names_synth.stack("MlopsCicd").stack_name == (
        "Machine-Learning-Platform-Project-Production-Deployment-Name-Sagemaker-Group-Sagemaker-Model-Cicd-Module-Name"
    )


def test_cross_region_support_stacks_deploy_with_the_module(long_names_synth: Synth) -> None:
    support = {name: s for name, s in long_names_synth.stacks.items() if "support-eu-west-1" in s.stack_name}
    assert len(support) == 2
    for stack in support.values():
        assert (stack.account, stack.region) == (TOOLING_ACCOUNT, "eu-west-1")
    top_level = [s for name, s in support.items() if "/" not in name]
    assert len(top_level) == 1, "the infra pipeline's: a top-level stack, deployed by cdk deploy --all"
    (nested,) = [s for name, s in support.items() if "/" in name]
    infra = long_names_synth.stack("MlopsCicd").template
    assert nested.stack_name in json.dumps(infra), "the deploy pipeline's: deployed by the infra pipeline"
