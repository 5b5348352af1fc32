"""What the module deploys, read from the shared synths: snapshots for drift, assertions for intent."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from blocks.pipelines import pinned_cdk_tools
from names import GroupNames
from settings import CDK_TAG_KEYS, MODULE_TAG_KEYS, RESOURCE_TAG_LIMITS
from tests.conftest import ROOT, TOOLING_ACCOUNT, Synth, SynthPool, group_details

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
STACK_NAME = "mlops-demo-models-sagemaker-model-cicd"


def template(synth: Synth, suffix: str) -> Template:
    return Template.from_json(synth.stack(suffix).template)


def test_snapshots(example_synth: Synth, snapshot: SnapshotAssertion) -> None:
    """Every stack of the README example; read a diff before accepting it (--snapshot-update)."""
    json_snapshot = snapshot.use_extension(JSONSnapshotExtension)
    for name in sorted(example_synth.stacks):
        assert example_synth.stacks[name].template == json_snapshot(name=name.replace("/", "."))


def test_two_processes_write_the_same_bytes(example_synth: Synth, approved_synth: Synth) -> None:
    """Determinism across processes, for every template: the approved synth differs from the
    example only in the approving group's endpoint stacks (their own snapshots pin those across runs)."""

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
                    Match.object_like(
                        {
                            "Name": "Source",
                            "Actions": [
                                Match.object_like(
                                    {
                                        "ActionTypeId": Match.object_like({"Provider": "CodeCommit"}),
                                        "Configuration": Match.object_like(
                                            {"RepositoryName": "cdk-infra-repo", "BranchName": "main"}
                                        ),
                                    }
                                )
                            ],
                        }
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


def test_synth_steps_start_warm_from_a_cache_in_their_own_artifact_bucket(example_synth: Synth) -> None:
    """pip's and npm's downloads survive between runs, in the bucket the step already reads and writes."""
    synths = [
        (stack, r["Properties"])
        for stack, _, r in example_synth.resources("AWS::CodeBuild::Project")
        if "npx cdk synth" in json.dumps(r["Properties"]["Source"])
    ]
    assert len(synths) == 3  # the infra pipeline's and each group's deploy pipeline's
    for stack, project in synths:
        (bucket,) = [
            k
            for k, r in stack.template["Resources"].items()
            if k.startswith("ArtifactStoreBucket") and r["Type"] == "AWS::S3::Bucket"
        ]
        assert project["Cache"] == {
            "Location": {"Fn::Join": ["/", [{"Ref": bucket}, "synth-cache"]]},
            "Type": "S3",
        }
        buildspec = json.loads(project["Source"]["BuildSpec"])
        assert buildspec["cache"]["paths"] == ["/root/.cache/pip/**/*", "/root/.npm/**/*"]
        assert project["Environment"]["Image"] == "aws/codebuild/standard:7.0"


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


def test_the_synths_cli_is_the_lock_files_which_is_the_pinned_version() -> None:
    """``npm ci`` installs exactly what package-lock.json says; it must agree with package.json's pin."""
    lock = json.loads((ROOT / "package-lock.json").read_text())
    tools = pinned_cdk_tools()
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == tools.cli
    assert lock["packages"]["node_modules/cdk-assets"]["version"] == tools.assets


def test_every_cdk_tool_a_pipeline_installs_is_the_pinned_version(example_synth: Synth) -> None:
    """Synth, self-mutation and asset publishing alike: never what npm calls ``2`` or ``latest`` that day."""
    tools = pinned_cdk_tools()
    pinned = {"aws-cdk": tools.cli, "cdk-assets": tools.assets}
    installed: dict[str, list[str]] = {}
    for stack, logical_id, project in example_synth.resources("AWS::CodeBuild::Project"):
        where = f"{stack.display_name}/{logical_id}"
        buildspec = json.dumps(project["Properties"]["Source"].get("BuildSpec", ""))
        assert "@latest" not in buildspec, where
        for command in re.findall(r"npm (?:install|i) ([^\"\\]*)", buildspec):
            for package in command.split():
                name, at, version = package.rpartition("@") if package.rfind("@") > 0 else (package, "", "")
                if name in pinned or "cdk" in name:
                    assert at, f"{where} installs {package} unpinned"
                    assert version == pinned.get(name), f"{where} installs {package}"
                    installed.setdefault(name, []).append(where)
    assert set(installed) == set(pinned), "the self-mutation and asset steps were all found"
    assert any("SelfMutation" in where for where in installed["aws-cdk"])


def test_pipeline_artifacts_are_encrypted_with_a_rotated_key(example_synth: Synth) -> None:
    top = template(example_synth, "MlopsCicd")
    top.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    pipeline = next(r for _, _, r in example_synth.resources("AWS::CodePipeline::Pipeline"))
    store = pipeline["Properties"]["ArtifactStore"]
    assert store["EncryptionKey"]["Type"] == "KMS"


def test_every_bucket_is_encrypted_versioned_private_and_tls_only(example_synth: Synth) -> None:
    buckets = list(example_synth.resources("AWS::S3::Bucket"))
    assert buckets
    policies = {
        json.dumps(r["Properties"]["Bucket"]): r["Properties"]["PolicyDocument"]["Statement"]
        for _, _, r in example_synth.resources("AWS::S3::BucketPolicy")
    }
    for stack, logical_id, bucket in buckets:
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], logical_id
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, logical_id
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        statements = policies[json.dumps({"Ref": logical_id})]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        ), f"{stack.display_name}/{logical_id} accepts plain HTTP"


def _resources(synth: Synth, suffix: str, kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: r.get("Properties", {})
        for logical_id, r in synth.stack(suffix).template["Resources"].items()
        if r["Type"] == kind
    }


def _statements_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s.get("Sid", f"#{i}"): s for i, s in enumerate(document["Statement"])}


def _endpoint_role_arns(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    names = GroupNames(f"{STACK_NAME}-prod-deployment-group", "123456789015", "us-east-1")
    return [
        {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, f":iam::{a}:role/{names.endpoint_execution_role(e)}"],
            ]
        }
        for a, e in pairs
    ]


PROD_ENDPOINT_ROLES = _endpoint_role_arns(("123456789016", "prod-approval-env"), ("123456789017", "prod-env"))


def test_artifacts_bucket_lets_only_endpoint_roles_read_only_models(example_synth: Synth) -> None:
    """Deploy accounts read the models prefix through their endpoint roles (and the samples prefix through
    their smoke-test roles: test_access.py); the tooling account nothing."""
    policies = _resources(example_synth, "prod-deployment-group/BuildSupport", "AWS::S3::BucketPolicy")
    artifacts = next(p for p in policies.values() if "ArtifactsBucket" in json.dumps(p["Bucket"]))
    allows = [s for s in artifacts["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert [s["Sid"] for s in allows] == [
        "EndpointRolesReadModelArtifacts",
        "SmokeTestRolesReadSamplePayloads",
    ]
    read, samples = allows
    assert read["Action"] == samples["Action"] == "s3:GetObject"
    assert read["Resource"]["Fn::Join"][1][1] == "/models/*"
    assert samples["Resource"]["Fn::Join"][1][1] == "/samples/*"
    assert (
        read["Principal"] == samples["Principal"] == {"AWS": [_root("123456789016"), _root("123456789017")]}
    )
    assert read["Condition"] == {"ArnEquals": {"aws:PrincipalArn": PROD_ENDPOINT_ROLES}}
    assert TOOLING_ACCOUNT not in json.dumps(artifacts)

    keys = _resources(example_synth, "prod-deployment-group/BuildSupport", "AWS::KMS::Key")
    artifacts_key = next(k for logical_id, k in keys.items() if logical_id.startswith("ArtifactsKey"))
    decrypt = _statements_of(artifacts_key["KeyPolicy"])["EndpointRolesDecryptModelArtifactsThroughS3"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": PROD_ENDPOINT_ROLES},
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
    }
    assert TOOLING_ACCOUNT not in json.dumps(artifacts_key)


def test_model_images_are_pulled_only_by_endpoint_roles(example_synth: Synth) -> None:
    (repository,) = _resources(
        example_synth, "prod-deployment-group/BuildSupport", "AWS::ECR::Repository"
    ).values()
    assert repository["ImageTagMutability"] == "IMMUTABLE"
    assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert repository["EncryptionConfiguration"]["EncryptionType"] == "KMS"
    assert repository["EmptyOnDelete"] is False  # a preprod build account keeps its images
    (pull,) = repository["RepositoryPolicyText"]["Statement"]
    assert pull["Condition"] == {"ArnEquals": {"aws:PrincipalArn": PROD_ENDPOINT_ROLES}}
    assert not any(a.startswith(("ecr:Put", "ecr:Upload", "ecr:Delete")) for a in pull["Action"])
    (dev,) = _resources(
        example_synth, "experimenation-deployment-group/BuildSupport", "AWS::ECR::Repository"
    ).values()
    assert dev["EmptyOnDelete"] is True


def test_model_registry_is_shared_with_deploy_accounts_only(example_synth: Synth) -> None:
    group = next(
        r["Properties"]
        for s, _, r in example_synth.resources("AWS::SageMaker::ModelPackageGroup")
        if s.account == "123456789015"
    )
    statements = group["ModelPackageGroupPolicy"]["Statement"]
    principals = json.dumps([s["Principal"] for s in statements])
    for account in ("123456789016", "123456789017"):
        assert f":iam::{account}:root" in principals
    assert TOOLING_ACCOUNT not in principals  # no pipeline of the tooling account reads the registry
    actions = {a for s in statements for a in s["Action"]}
    assert actions == {
        "sagemaker:DescribeModelPackageGroup",
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
        "sagemaker:CreateModel",
    }


def _role_actions(synth: Synth, suffix: str, role_name_suffix: str) -> list[dict[str, Any]]:
    """Every Allow statement attached to the role whose name ends with ``role_name_suffix``."""
    roles = _resources(synth, suffix, "AWS::IAM::Role")
    (role_id,) = [i for i, r in roles.items() if str(r.get("RoleName", "")).endswith(role_name_suffix)]
    statements = [s for p in roles[role_id].get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    for policy in _resources(synth, suffix, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Roles"]:
            statements += policy["PolicyDocument"]["Statement"]
    return [s for s in statements if s["Effect"] == "Allow"]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_no_build_role_can_approve_a_model(example_synth: Synth) -> None:
    """Repository code runs as both roles; an approval would deploy to every environment."""
    suffix = "prod-deployment-group/BuildSupport"
    access = _role_actions(example_synth, suffix, "model-build-access")
    assert not [a for s in access for a in _actions(s) if "ModelPackage" in a and a != "sagemaker:AddTags"]
    execution = _role_actions(example_synth, suffix, "sagemaker-exec")
    approving = [
        s for s in execution if any(a in ("sagemaker:UpdateModelPackage", "sagemaker:*") for a in _actions(s))
    ]
    assert approving == []
    (create,) = [s for s in execution if "sagemaker:CreateModelPackage" in _actions(s)]
    assert _actions(create) == ["sagemaker:CreateModelPackage"]
    assert create["Condition"] == {"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}}


def test_access_role_writes_only_pipeline_code(example_synth: Synth) -> None:
    access = _role_actions(example_synth, "prod-deployment-group/BuildSupport", "model-build-access")
    s3_statements = [s for s in access if any(a.startswith("s3:") for a in _actions(s))]
    (upload,) = s3_statements
    assert sorted(_actions(upload)) == ["s3:GetObject", "s3:PutObject"]
    assert upload["Resource"]["Fn::Join"][1][1] == "/pipeline-code/*"


def test_approval_delivery_cannot_fail_silently(example_synth: Synth) -> None:
    """EventBridge sends no source keys to KMS for an encrypted topic; what fails lands in a queue."""
    suffix = "prod-deployment-group/BuildSupport"
    keys = _resources(example_synth, suffix, "AWS::KMS::Key")
    topic_key = next(k for logical_id, k in keys.items() if logical_id.startswith("ApprovalTopicKey"))
    events_use = _statements_of(topic_key["KeyPolicy"])["EventBridgePublishesEncrypted"]
    assert events_use["Principal"] == {"Service": "events.amazonaws.com"}
    assert "Condition" not in events_use
    (rule,) = _resources(example_synth, suffix, "AWS::Events::Rule").values()
    (target,) = rule["Targets"]
    (queue_id,) = _resources(example_synth, suffix, "AWS::SQS::Queue")
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    queue = _resources(example_synth, suffix, "AWS::SQS::Queue")[queue_id]
    topic_key_id = next(i for i in keys if i.startswith("ApprovalTopicKey"))
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [topic_key_id, "Arn"]}
    (alarm,) = _resources(example_synth, suffix, "AWS::CloudWatch::Alarm").values()
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Events", "FailedInvocations")
    assert alarm["Threshold"] == 0


def test_tooling_account_may_subscribe_only_its_trigger(example_synth: Synth) -> None:
    (policy,) = _resources(
        example_synth, "prod-deployment-group/BuildSupport", "AWS::SNS::TopicPolicy"
    ).values()
    subscribe = _statements_of(policy["PolicyDocument"])["ToolingAccountSubscribesItsTrigger"]
    endpoint = subscribe["Condition"]["StringEquals"]["sns:Endpoint"]["Fn::Join"][1][2]
    names = GroupNames(f"{STACK_NAME}-prod-deployment-group", "123456789015", "us-east-1")
    assert endpoint == f":lambda:us-east-1:{TOOLING_ACCOUNT}:function:{names.approval_trigger_function}"
    assert subscribe["Condition"]["StringEquals"]["sns:Protocol"] == "lambda"


def _root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def test_build_account_role_trusts_only_the_model_build_project(example_synth: Synth) -> None:
    support = template(example_synth, "prod-deployment-group/BuildSupport")
    roles = support.find_resources(
        "AWS::IAM::Role", {"Properties": {"RoleName": Match.string_like_regexp("model-build-access$")}}
    )
    (role,) = roles.values()
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": _root(TOOLING_ACCOUNT)}
    condition = json.dumps(statement["Condition"])
    assert "aws:PrincipalArn" in condition
    tooling = template(example_synth, "prod-deployment-group/ModelBuild")
    names = [r["Properties"].get("RoleName") for r in tooling.find_resources("AWS::IAM::Role").values()]
    assert any(n and n.endswith("model-build-project") and n in condition for n in names)


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
                    Match.object_like(
                        {
                            "Name": "Source",
                            "Actions": [
                                Match.object_like(
                                    {
                                        "Configuration": Match.object_like(
                                            {
                                                "RepositoryName": "model-build-repo",
                                                "BranchName": "dev",
                                                "PollForSourceChanges": False,
                                            }
                                        )
                                    }
                                )
                            ],
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


def test_approval_topic_is_encrypted_with_a_key_eventbridge_can_use(example_synth: Synth) -> None:
    support = template(example_synth, "prod-deployment-group/BuildSupport")
    support.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    support.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "events.amazonaws.com"}})]
                )
            }
        },
    )
    support.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Action": "sns:Subscribe", "Principal": {"AWS": _root(TOOLING_ACCOUNT)}}
                        ),
                        Match.object_like(
                            {
                                "Action": "sns:Publish",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Condition": {"ArnEquals": {"aws:SourceArn": Match.any_value()}},
                            }
                        ),
                    ]
                )
            }
        },
    )
    support.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Model Package State Change"],
                "detail": {
                    "ModelPackageGroupName": [Match.string_like_regexp("-models$")],
                    "ModelApprovalStatus": ["Approved"],
                },
            }
        },
    )


def test_log_groups_have_a_retention(example_synth: Synth) -> None:
    groups = list(example_synth.resources("AWS::Logs::LogGroup"))
    assert groups
    assert all("RetentionInDays" in r["Properties"] for _, _, r in groups)


def test_metadata_output_names_the_infra_pipeline_and_where_the_groups_are(example_synth: Synth) -> None:
    """Only what does not grow with the groups: seedfarmer stores it in SSM (README "Scale")."""
    outputs = example_synth.stack("MlopsCicd").template["Outputs"]
    assert json.loads(outputs["metadata"]["Value"]) == {
        "InfraPipelineName": f"{STACK_NAME}-infra",
        "InfraPipelineArn": f"arn:aws:codepipeline:us-east-1:{TOOLING_ACCOUNT}:{STACK_NAME}-infra",
        "DeploymentGroupsParameterPath": f"/{STACK_NAME}/deployment-groups/",
    }


def test_each_group_has_its_detail_in_a_standard_ssm_parameter(example_synth: Synth) -> None:
    details = group_details(example_synth)
    assert set(details) == {"experimenation-deployment-group", "prod-deployment-group"}
    assert {(d["Type"], d["Tier"]) for d in details.values()} == {("String", "Standard")}
    prod = details["prod-deployment-group"]["Value"]
    assert prod["BuildAccount"] == "123456789015"
    assert prod["DeployAccounts"] == ["123456789016", "123456789017"]
    assert prod["ApprovalTopicArn"].startswith("arn:aws:sns:us-east-1:123456789015:")
    assert prod["ModelBuildPipelineName"] == f"{STACK_NAME}-prod-deployment-group-model-build"


def test_fifty_groups_get_fifty_detail_parameters_that_fit(fifty_groups_synth: Synth) -> None:
    details = group_details(fifty_groups_synth)
    assert sorted(details) == [f"group-{index:03d}" for index in range(50)]
    top = fifty_groups_synth.stack("MlopsCicd").template
    for detail in details.values():
        assert len(json.dumps(detail["Value"], sort_keys=True)) <= 4096
    assert len(top["Outputs"]["metadata"]["Value"]) < 300


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


def test_every_role_has_the_boundary_of_its_account(long_names_synth: Synth) -> None:
    roles = list(long_names_synth.resources("AWS::IAM::Role"))
    assert len(roles) > 10
    for stack, logical_id, role in roles:
        boundary = json.dumps(role["Properties"].get("PermissionsBoundary"))
        if stack.account == TOOLING_ACCOUNT:
            assert "policy/sf-boundary" in boundary, f"{stack.display_name}/{logical_id}"
        else:
            assert f"{stack.account}:policy/OrgPermissionsBoundary" in boundary, (
                f"{stack.display_name}/{logical_id}"
            )


def test_every_stack_carries_the_seedfarmer_and_user_tags(long_names_synth: Synth) -> None:
    expected = {
        "SeedFarmerProjectName": "Machine-Learning-Platform-Project",
        "SeedFarmerDeploymentName": "Production-Deployment-Name",
        "SeedFarmerModuleName": "Sagemaker-Group-Sagemaker-Model-Cicd-Module-Name",
        "CostCenter": "ml-4242",
        "Owner": "platform",
    }
    for name, stack in long_names_synth.stacks.items():
        assert expected.items() <= stack.tags.items(), name
    for stack, logical_id, role in long_names_synth.resources("AWS::IAM::Role"):
        tags = {t["Key"]: t["Value"] for t in role["Properties"].get("Tags", [])}
        assert expected.items() <= tags.items(), f"{stack.display_name}/{logical_id}"


@pytest.mark.parametrize("configuration", ["long", "approved", "manifest-three-accounts"])
def test_the_tag_limit_counts_every_tag_the_module_and_cdk_add(
    synth_pool: SynthPool, configuration: str
) -> None:
    """settings.TAGS_LIMIT holds only if no resource carries a tag it does not count, or an unlisted kind."""
    counted = set(MODULE_TAG_KEYS + CDK_TAG_KEYS)
    for stack in synth_pool.get(configuration).stacks.values():
        users = set(stack.tags) - counted
        assert set(stack.tags) - users <= set(MODULE_TAG_KEYS), stack.display_name
        for logical_id, resource in stack.template.get("Resources", {}).items():
            tags = resource.get("Properties", {}).get("Tags")
            if tags is None:
                continue
            keys = set(tags) if isinstance(tags, dict) else {t["Key"] for t in tags}
            where = f"{stack.display_name}/{logical_id} ({resource['Type']})"
            assert resource["Type"] in RESOURCE_TAG_LIMITS, where
            assert keys - users <= counted, where


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


def test_user_access_log_bucket_receives_tooling_logs(long_names_synth: Synth) -> None:
    top = template(long_names_synth, "MlopsCicd")
    top.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LoggingConfiguration": {
                "DestinationBucketName": "org-tooling-access-logs",
                "LogFilePrefix": Match.any_value(),
            }
        },
    )


def test_infra_pipeline_synthesizes_in_the_module_folder(long_names_synth: Synth) -> None:
    synth = next(
        r["Properties"]
        for _, _, r in long_names_synth.resources("AWS::CodeBuild::Project")
        if "cdk synth" in json.dumps(r["Properties"]["Source"])
    )
    buildspec = json.loads(synth["Source"]["BuildSpec"])
    assert buildspec["phases"]["build"]["commands"][0] == "cd modules/sagemaker/sagemaker-model-cicd"
    assert buildspec["artifacts"]["base-directory"] == "modules/sagemaker/sagemaker-model-cicd/cdk.out"


RETAINED_KINDS = ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::SageMaker::ModelPackageGroup")


def test_preprod_and_prod_build_accounts_keep_what_they_trained(example_synth: Synth) -> None:
    """Bucket, log bucket, keys and registry outlive their stack; nothing empties them."""
    template = example_synth.stack("prod-deployment-group/BuildSupport").template
    retained = [r for r in template["Resources"].values() if r["Type"] in RETAINED_KINDS]
    assert len(retained) == 5
    for resource in retained:
        assert resource["DeletionPolicy"] == "Retain"
        assert resource["UpdateReplacePolicy"] == "Retain"
    custom = [r for r in template["Resources"].values() if r["Type"].startswith("Custom::")]
    # The registry cleanup is there in every type, so a type change updates it; here it never deletes.
    assert [(r["Type"], r["Properties"]["DeleteVersionsWithStack"]) for r in custom] == [
        ("Custom::ModelRegistryCleanup", "false")
    ]


def test_dev_build_accounts_clean_up_after_themselves(example_synth: Synth) -> None:
    template = example_synth.stack("experimenation-deployment-group/BuildSupport").template
    resources = template["Resources"]
    for resource in (r for r in resources.values() if r["Type"] in ("AWS::S3::Bucket", "AWS::KMS::Key")):
        assert resource["DeletionPolicy"] == "Delete"
    assert len([r for r in resources.values() if r["Type"] == "Custom::S3AutoDeleteObjects"]) == 2
    (group_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::SageMaker::ModelPackageGroup"]
    assert "DeletionPolicy" not in resources[group_id]
    (cleanup,) = [r for r in resources.values() if r["Type"] == "Custom::ModelRegistryCleanup"]
    assert cleanup["DependsOn"] == [group_id], "emptied before CloudFormation deletes the group"
    assert cleanup["Properties"]["DeleteVersionsWithStack"] == "true"
    assert (
        cleanup["Properties"]["ModelPackageGroupName"]
        == resources[group_id]["Properties"]["ModelPackageGroupName"]
    )


_NAME_PROPERTIES = (
    "BucketName",
    "ModelPackageGroupName",
    "RepositoryName",
    "QueueName",
    "TopicName",
    "RoleName",
    "TableName",
    "LogGroupName",
    "AliasName",
    "Name",
)


@pytest.mark.parametrize("synth_name", ["example_synth", "long_names_synth"])
def test_every_retained_fixed_name_is_checked_before_a_redeploy(
    synth_name: str, request: pytest.FixtureRequest
) -> None:
    """A kept resource under a fixed name makes the next deploy after a destroy fail with "already exists".

    Each must be one the wave's preflight looks for (it names what is in the way), or have a generated name.
    The long-names synth has a second region, so its pipelines have artifact replication stacks.
    """
    example_synth: Synth = request.getfixturevalue(synth_name)
    template = example_synth.stack("MlopsCicd").template
    preflight = " ".join(
        json.dumps(r["Properties"]["Source"]["BuildSpec"])
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::CodeBuild::Project" and "Preflight" in k
    )
    retained = {
        f"{stack.display_name}/{logical_id}": (kind, resource["Properties"][prop])
        for stack in example_synth.stacks.values()
        for logical_id, resource in stack.template["Resources"].items()
        if resource.get("DeletionPolicy") == "Retain"
        for kind in [resource["Type"]]
        for prop in _NAME_PROPERTIES
        if prop in resource.get("Properties", {})
    }
    assert retained, "the README example's preprod group keeps named resources"
    unchecked = {
        where: found
        for where, found in retained.items()
        if not isinstance(found[1], str) or found[1] not in preflight
    }
    assert unchecked == {}


def test_artifact_replication_goes_with_the_module(long_names_synth: Synth) -> None:
    """Copies of pipeline artifacts in another region: emptied and deleted, so a redeploy finds no bucket."""
    support = {
        stack.stack_name: stack
        for stack in long_names_synth.stacks.values()
        if "-support-" in stack.stack_name
    }
    # The infra pipeline's and the eu-west-1 group's deploy pipeline's, in that region, tooling account.
    assert len(support) == 2
    for stack in support.values():
        assert (stack.account, stack.region) == (TOOLING_ACCOUNT, "eu-west-1")
        assert stack.stack_name.endswith("-support-eu-west-1")
        assert len(stack.stack_name) <= 128
        resources = stack.template["Resources"].values()
        buckets = [r for r in resources if r["Type"] == "AWS::S3::Bucket"]
        assert len(buckets) == 2  # the replication bucket and its access logs
        assert all(r["DeletionPolicy"] == "Delete" for r in resources if "DeletionPolicy" in r)
        emptied = {
            r["Properties"]["BucketName"]["Ref"]
            for r in resources
            if r["Type"] == "Custom::S3AutoDeleteObjects"
        }
        assert len(emptied) == 2
        keys = [r for r in resources if r["Type"] == "AWS::KMS::Key"]
        assert [k["Properties"]["EnableKeyRotation"] for k in keys] == [True]
