"""The endpoint stack: synthesized in-process with cdk-nag on, once for all variants; every other test
reads those templates (the whole app's determinism is test_stack's)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from blocks.governance import Governance
from blocks.lambda_functions import INLINE_CODE_LIMIT, inline_source
from names import SAGEMAKER_NAME, GroupNames
from settings import (
    NO_APPROVED_MODEL,
    ApprovedModel,
    AutoScalingSettings,
    BuildEnvironmentSettings,
    DeployEnvironmentSettings,
    EndpointSettings,
    EnvironmentType,
    SettingsError,
)
from stages.endpoint import NVME_FAMILIES, EndpointStack, nvme_instance
from stages.endpoint_guardrails import VARIANT_NAME
from tests.conftest import Synth, endpoint_network_ids, ssm_lookup_key

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
REGION = "eu-west-1"
BUILD_ACCOUNT = "222222222222"
PROD_ACCOUNT = "333333333333"
DEV_ACCOUNT = "444444444444"
GOVERNANCE = Governance(
    tags={"CostCenter": "ml-4242"}, tooling_account="111111111111", boundary_name="OrgBoundary"
)
NAMES = GroupNames(prefix="mlops-demo-models-cicd-fraud", build_account=BUILD_ACCOUNT, build_region=REGION)
LONG_NAMES = GroupNames(
    prefix="Machine-Learning-Platform-Project-Production-Deployment-Name-Sagemaker-Model-Cicd-Module-Name-"
    "Very-Long-Mixed-Case-Deployment-Group-Name-For-Limits-Testing-X",
    build_account=BUILD_ACCOUNT,
    build_region=REGION,
)
SAGEMAKER_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
IMAGE_ACCOUNT = "141502667606"
IMAGE_REPOSITORY = "sagemaker-xgboost"
IMAGE = f"{IMAGE_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{IMAGE_REPOSITORY}:1.7-1"

EXECUTION_ROLE = "ModelExecutionRole"  # the model's role; the scaling function has its own
SCALING_TYPES = {"Custom::ScalingGuard", "Custom::ScalingRegistration"}
SCALING = AutoScalingSettings(min_capacity=2, max_capacity=6, target_invocations_per_instance=750)
PROD = DeployEnvironmentSettings(
    name="prod",
    account=PROD_ACCOUNT,
    type=EnvironmentType.PROD,
    endpoint=EndpointSettings(
        instance_type="ml.m5.xlarge",
        initial_instance_count=2,
        auto_scaling=SCALING,
        data_capture_percentage=25,
        vpc=True,
    ),
)
PROD_BIGGER = PROD.model_copy(
    update={"endpoint": PROD.endpoint.model_copy(update={"instance_type": "ml.m5.2xlarge"})}
)
GPU_DEV = DeployEnvironmentSettings(
    name="dev",
    account=DEV_ACCOUNT,
    type=EnvironmentType.DEV,
    endpoint=EndpointSettings(instance_type="ml.g5.2xlarge", vpc=False, network_isolation=False),
)
BUILD = BuildEnvironmentSettings(
    name="train",
    account=BUILD_ACCOUNT,
    region=REGION,
    type=EnvironmentType.DEV,
    endpoint=EndpointSettings(
        instance_type="ml.c5.large",
        data_capture_percentage=10,
        subnet_ids_parameter="/shared/network/subnets",
        security_group_id_parameter="/shared/network/endpoint-sg",
    ),
)
LONG = DeployEnvironmentSettings(
    name="Deploy-Env-With-A-Long-Name-Too", account=PROD_ACCOUNT, type=EnvironmentType.PREPROD
)


def approved(version: int, names: GroupNames = NAMES) -> ApprovedModel:
    return ApprovedModel(
        model_package_arn=f"arn:aws:sagemaker:{REGION}:{BUILD_ACCOUNT}:model-package/{names.model_package_group}/{version}",
        model_data_url=f"s3://{names.artifacts_bucket}/models/run-{version}/model.tar.gz",
        image_uri=IMAGE,
    )


@dataclass(frozen=True)
class Case:
    names: GroupNames
    environment: DeployEnvironmentSettings
    model: ApprovedModel | None


CASES = {
    "Placeholder": Case(NAMES, PROD, None),
    "Prod": Case(NAMES, PROD, approved(3)),
    "ProdNextVersion": Case(NAMES, PROD, approved(4)),
    "ProdBigger": Case(NAMES, PROD_BIGGER, approved(3)),
    "Gpu": Case(NAMES, GPU_DEV, approved(3)),
    "Build": Case(NAMES, BUILD, approved(3)),
    "Long": Case(LONG_NAMES, LONG, approved(3, LONG_NAMES)),
}


def lookup_key(account: str, parameter: str) -> str:
    return ssm_lookup_key(account, parameter, REGION)


def network_lookups(accounts: dict[str, tuple[str, str]]) -> dict[str, str]:
    """What the CDK CLI would have looked up through each account's lookup role, as context."""
    context = {}
    for account, (subnets_parameter, security_group_parameter) in accounts.items():
        subnets, security_group = endpoint_network_ids(account)
        # A StringList parameter's value, as GetParameter returns it: unsorted, spaces after commas.
        context[lookup_key(account, subnets_parameter)] = ", ".join(reversed(subnets))
        context[lookup_key(account, security_group_parameter)] = security_group
    return context


LOOKUPS = network_lookups(
    {
        PROD_ACCOUNT: ("/mlops/vpc/subnets/private/ids", "/mlops/vpc/sg/id"),
        BUILD_ACCOUNT: ("/shared/network/subnets", "/shared/network/endpoint-sg"),
    }
)


def build_app(outdir: Path) -> cdk.App:
    app = cdk.App(context={**CONTEXT, **LOOKUPS}, outdir=str(outdir))
    for construct_id, case in CASES.items():
        EndpointStack(
            app,
            construct_id,
            env=cdk.Environment(account=case.environment.account, region=REGION),
            governance=GOVERNANCE,
            names=case.names,
            environment=case.environment,
            network_parameters=case.environment.endpoint.network_parameters("mlops"),
            approved_model=case.model,
            stack_name=f"endpoint-{construct_id.lower()}",
        )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


@dataclass(frozen=True)
class Synthesized:
    outdir: Path
    templates: dict[str, dict[str, Any]]
    stacks: dict[str, EndpointStack]

    def template(self, case: str) -> Template:
        return Template.from_json(self.templates[case])

    def resources(self, case: str, kind: str, prefix: str = "") -> dict[str, dict[str, Any]]:
        """The resources of ``kind``, those whose logical id starts with ``prefix``."""
        return {
            k: v
            for k, v in self.templates[case]["Resources"].items()
            if v["Type"] == kind and k.startswith(prefix)
        }

    def one(self, case: str, kind: str, prefix: str = "") -> dict[str, Any]:
        found = list(self.resources(case, kind, prefix).values())
        assert len(found) == 1, (case, kind, found)
        return found[0]["Properties"]  # type: ignore[no-any-return]


def synthesize(outdir: Path) -> Synthesized:
    app = build_app(outdir)
    app.synth()  # raises ValidationFailed on any open cdk-nag finding
    stacks = {c.node.id: c for c in app.node.children if isinstance(c, EndpointStack)}
    templates = {
        case: json.loads((outdir / f"{stack.artifact_id}.template.json").read_text())
        for case, stack in stacks.items()
    }
    return Synthesized(outdir, templates, stacks)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("endpoint") / "cdk.out")


# --- NVMe rule -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance_type", "nvme"),
    [
        ("ml.g5.2xlarge", True),
        ("ml.g4dn.xlarge", True),
        ("ml.g6.xlarge", True),
        ("ml.g6e.12xlarge", True),
        ("ml.p3dn.24xlarge", True),
        ("ml.p4d.24xlarge", True),
        ("ml.p4de.24xlarge", True),
        ("ml.p5.48xlarge", True),
        ("ml.p6-b200.48xlarge", True),
        ("ml.m5d.large", True),
        ("ml.c5d.xlarge", True),
        ("ml.r5d.2xlarge", True),
        ("ml.c6gd.large", True),
        ("ml.trn1.2xlarge", True),
        ("ml.trn1n.32xlarge", True),
        ("ml.dl1.24xlarge", True),
        ("ml.m5.xlarge", False),
        ("ml.m5.large", False),
        ("ml.c5.large", False),
        ("ml.r5.large", False),
        ("ml.m6i.xlarge", False),
        ("ml.c7i.large", False),
        ("ml.t2.medium", False),
        ("ml.p3.2xlarge", False),
        ("ml.inf1.xlarge", False),
        ("ml.inf2.xlarge", False),
        ("ml.g5g.xlarge", False),
    ],
)
def test_nvme_instance(instance_type: str, nvme: bool) -> None:
    assert nvme_instance(instance_type) is nvme


@pytest.mark.parametrize("text", ["m5.xlarge", "ml.m5", "ml..xlarge", "", "ml.G5.xlarge"])
def test_nvme_instance_rejects_what_is_not_an_instance_type(text: str) -> None:
    with pytest.raises(ValueError, match="not a SageMaker instance type"):
        nvme_instance(text)


def test_nvme_families_are_bare_family_names() -> None:
    assert all(re.fullmatch(r"[a-z0-9-]+", family) for family in NVME_FAMILIES)


def test_volume_key_only_where_sagemaker_accepts_one(synth: Synthesized) -> None:
    assert "KmsKeyId" in synth.one("Prod", "AWS::SageMaker::EndpointConfig")
    assert "KmsKeyId" in synth.one("Build", "AWS::SageMaker::EndpointConfig")
    gpu = synth.one("Gpu", "AWS::SageMaker::EndpointConfig")
    assert "KmsKeyId" not in gpu
    assert gpu["ProductionVariants"][0]["InstanceType"] == "ml.g5.2xlarge"
    assert synth.resources("Gpu", "AWS::KMS::Key") == {}  # nothing else needs one there


def test_volume_key_is_a_rotated_key_of_the_stack(synth: Synthesized) -> None:
    config = synth.one("Prod", "AWS::SageMaker::EndpointConfig")
    (key_id,) = synth.resources("Prod", "AWS::KMS::Key")
    assert config["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert synth.one("Prod", "AWS::KMS::Key")["EnableKeyRotation"] is True


def test_endpoint_stacks_live_in_the_build_region() -> None:
    with pytest.raises(ValueError, match="build region eu-west-1, not us-east-1"):
        EndpointStack(
            cdk.App(context=CONTEXT),
            "Elsewhere",
            env=cdk.Environment(account=PROD_ACCOUNT, region="us-east-1"),
            governance=GOVERNANCE,
            names=NAMES,
            environment=PROD,
            network_parameters=PROD.endpoint.network_parameters("mlops"),
            approved_model=approved(1),
            stack_name="elsewhere",
        )


# --- snapshots of the real thing -----------------------------------------------------------------------


def test_approved_endpoint_snapshots(approved_synth: Synth, snapshot: SnapshotAssertion) -> None:
    """The prod group's endpoint stacks once it approved a version (the example synth's are placeholders);
    read a diff before accepting it (--snapshot-update)."""
    json_snapshot = snapshot.use_extension(JSONSnapshotExtension)
    prefix = "MlopsCicd/prod-deployment-group/"
    names = sorted(n for n in approved_synth.stacks if n.startswith(prefix) and n.endswith("/Endpoint"))
    assert len(names) == 3, names
    for name in names:
        template = approved_synth.stacks[name].template
        assert "AWS::SageMaker::Endpoint" in {r["Type"] for r in template["Resources"].values()}
        assert template == json_snapshot(name=name.replace("/", "."))


# --- placeholder ---------------------------------------------------------------------------------------


def test_placeholder_is_a_single_no_op(synth: Synthesized) -> None:
    template = synth.templates["Placeholder"]
    assert [r["Type"] for r in template["Resources"].values()] == ["AWS::CloudFormation::WaitConditionHandle"]
    # Only what the deploy pipeline's smoke step reads: the pipeline is built from this template.
    assert {k: v["Value"] for k, v in template["Outputs"].items()} == {
        "EndpointName": NAMES.endpoint("prod"),
        "EndpointConfigName": NO_APPROVED_MODEL,
    }
    assert "SageMaker" not in json.dumps(template["Resources"])


# --- names ---------------------------------------------------------------------------------------------


def test_endpoint_name_is_stable_while_model_and_config_names_are_generated(synth: Synthesized) -> None:
    """Replacing a custom-named model or config under the same name fails; generated names never collide."""
    for case in ("Prod", "ProdNextVersion", "ProdBigger", "Build"):
        assert "ModelName" not in synth.one(case, "AWS::SageMaker::Model"), case
        assert "EndpointConfigName" not in synth.one(case, "AWS::SageMaker::EndpointConfig"), case
    endpoints = {
        synth.one(c, "AWS::SageMaker::Endpoint")["EndpointName"] for c in ("Prod", "ProdNextVersion")
    }
    assert endpoints == {NAMES.endpoint("prod")} == {"mlops-demo-models-cicd-fraud-prod"}
    # Same logical ids: CloudFormation updates the endpoint in place and replaces model and config.
    prod, following = synth.templates["Prod"]["Resources"], synth.templates["ProdNextVersion"]["Resources"]
    assert set(prod) == set(following)
    model, next_model = (synth.one(c, "AWS::SageMaker::Model") for c in ("Prod", "ProdNextVersion"))
    assert model != next_model


def test_instance_type_change_keeps_the_variant_and_its_scaling_resources(synth: Synthesized) -> None:
    """Deployment guardrails need the same variant name in the old and new config; only the scaling
    resources' InstanceType changes, which is what makes the guard deregister before the update."""
    variants = {
        case: synth.one(case, "AWS::SageMaker::EndpointConfig")["ProductionVariants"][0]["VariantName"]
        for case in CASES
        if case != "Placeholder"
    }
    assert set(variants.values()) == {VARIANT_NAME} == {"AllTraffic"}
    prod, bigger = synth.templates["Prod"]["Resources"], synth.templates["ProdBigger"]["Resources"]
    assert set(prod) == set(bigger)  # no resource added or removed: everything is an update
    for kind in ("Custom::ScalingGuard", "Custom::ScalingRegistration"):
        before, after = synth.one("Prod", kind), synth.one("ProdBigger", kind)
        assert (before["InstanceType"], after["InstanceType"]) == ("ml.m5.xlarge", "ml.m5.2xlarge")
        assert {k: v for k, v in before.items() if k != "InstanceType"} == {
            k: v for k, v in after.items() if k != "InstanceType"
        }
        # A new model version changes neither: SageMaker allows it on a registered variant.
        assert synth.one("ProdNextVersion", kind) == before


@pytest.mark.parametrize("case", ["Prod", "ProdNextVersion", "ProdBigger", "Gpu", "Build", "Long"])
def test_sagemaker_names_fit(synth: Synthesized, case: str) -> None:
    name = synth.one(case, "AWS::SageMaker::Endpoint")["EndpointName"]
    assert len(name) <= SAGEMAKER_NAME, name
    assert SAGEMAKER_NAME_PATTERN.fullmatch(name), name
    variant = synth.one(case, "AWS::SageMaker::EndpointConfig")["ProductionVariants"][0]["VariantName"]
    assert SAGEMAKER_NAME_PATTERN.fullmatch(variant)


def test_long_names_are_shortened_but_distinct(synth: Synthesized) -> None:
    endpoint = synth.one("Long", "AWS::SageMaker::Endpoint")["EndpointName"]
    assert len(endpoint) == SAGEMAKER_NAME
    assert endpoint == LONG_NAMES.endpoint(LONG.name)
    assert endpoint.startswith("machine-learning-platform")
    assert endpoint != LONG_NAMES.endpoint("Deploy-Env-With-A-Long-Name-Too-2")
    assert LONG_NAMES.endpoint("prod").endswith("-prod")


# --- model, role, network ------------------------------------------------------------------------------


def test_model_serves_the_approved_package(synth: Synthesized) -> None:
    model = synth.one("Prod", "AWS::SageMaker::Model")
    assert model["Containers"] == [{"ModelPackageName": approved(3).model_package_arn}]
    (role_id,) = synth.resources("Prod", "AWS::IAM::Role", EXECUTION_ROLE)
    assert model["ExecutionRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}


def _parameters(synth: Synthesized, case: str) -> dict[str, dict[str, Any]]:
    return {
        name: p
        for name, p in synth.templates[case].get("Parameters", {}).items()
        if name != "BootstrapVersion"
    }


def test_model_container_has_no_network_unless_turned_off(synth: Synthesized) -> None:
    assert synth.one("Prod", "AWS::SageMaker::Model")["EnableNetworkIsolation"] is True
    assert synth.one("Gpu", "AWS::SageMaker::Model")["EnableNetworkIsolation"] is False


def test_vpc_values_are_looked_up_at_synth_not_resolved_at_deploy_time(synth: Synthesized) -> None:
    # The deploy role cannot read SSM parameters: no AWS::SSM::Parameter::Value parameter may remain.
    assert all(_parameters(synth, case) == {} for case in CASES)
    for case, account in (("Prod", PROD_ACCOUNT), ("Build", BUILD_ACCOUNT)):
        subnets, security_group = endpoint_network_ids(account)
        assert synth.one(case, "AWS::SageMaker::Model")["VpcConfig"] == {
            "SecurityGroupIds": [security_group],
            "Subnets": subnets,
        }


def prod_endpoint(app: cdk.App) -> EndpointStack:
    """The prod case's stack alone, in ``app`` (whose context holds the lookups, or not)."""
    return EndpointStack(
        app,
        "Prod",
        env=cdk.Environment(account=PROD_ACCOUNT, region=REGION),
        governance=GOVERNANCE,
        names=NAMES,
        environment=PROD,
        network_parameters=PROD.endpoint.network_parameters("mlops"),
        approved_model=approved(3),
        stack_name="endpoint-prod",
    )


def test_vpc_lookups_go_through_the_target_accounts_lookup_role(tmp_path: Path) -> None:
    """Without cached values CDK asks the CLI for them, naming the endpoint account's role to assume."""
    app = cdk.App(context=CONTEXT, outdir=str(tmp_path))
    prod_endpoint(app)
    app.synth()
    missing = json.loads((tmp_path / "manifest.json").read_text())["missing"]
    role = (
        f"arn:${{AWS::Partition}}:iam::{PROD_ACCOUNT}:role/cdk-hnb659fds-lookup-role-{PROD_ACCOUNT}-{REGION}"
    )
    assert sorted(entry["key"] for entry in missing) == sorted(
        lookup_key(PROD_ACCOUNT, name) for name in ("/mlops/vpc/subnets/private/ids", "/mlops/vpc/sg/id")
    )
    assert {entry["props"]["lookupRoleArn"] for entry in missing} == {role}


@pytest.mark.parametrize(
    ("subnets", "security_group", "expected"),
    [
        (
            "subnet-0abc1234,vpc-0abc1234",
            "sg-0abc1234",
            "/mlops/vpc/subnets/private/ids must hold subnet ids",
        ),
        ("", "sg-0abc1234", "/mlops/vpc/subnets/private/ids must hold subnet ids"),
        ("subnet-0abc1234", "sg-0abc1234,sg-0def5678", "/mlops/vpc/sg/id must hold one security group id"),
        (
            ",".join(f"subnet-0abc{n:04}" for n in range(17)),
            "sg-0abc1234",
            "holds 17 subnets; SageMaker takes at most 16",
        ),
    ],
)
def test_looked_up_vpc_values_that_cannot_work_are_one_line_each(
    tmp_path: Path, subnets: str, security_group: str, expected: str
) -> None:
    context = {
        lookup_key(PROD_ACCOUNT, "/mlops/vpc/subnets/private/ids"): subnets,
        lookup_key(PROD_ACCOUNT, "/mlops/vpc/sg/id"): security_group,
    }
    app = cdk.App(context={**CONTEXT, **context}, outdir=str(tmp_path))
    with pytest.raises(SettingsError) as raised:
        prod_endpoint(app)
    (problem,) = raised.value.problems
    assert problem.startswith("prod endpoint: the SSM parameter /mlops/vpc/")
    assert expected in problem


def test_no_vpc_when_turned_off(synth: Synthesized) -> None:
    assert "VpcConfig" not in synth.one("Gpu", "AWS::SageMaker::Model")
    assert _parameters(synth, "Gpu") == {}
    assert "ec2:" not in json.dumps(synth.one("Gpu", "AWS::IAM::Role", EXECUTION_ROLE))


def _statements(synth: Synthesized, case: str) -> dict[str, dict[str, Any]]:
    role = synth.one(case, "AWS::IAM::Role", EXECUTION_ROLE)
    (policy,) = role["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def test_execution_role_is_least_privilege(synth: Synthesized) -> None:
    role = synth.one("Prod", "AWS::IAM::Role", EXECUTION_ROLE)
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role
    assert "FullAccess" not in json.dumps(synth.templates["Prod"])
    assert role["PermissionsBoundary"] == f"arn:aws:iam::{PROD_ACCOUNT}:policy/OrgBoundary"
    statements = _statements(synth, "Prod")
    bucket = f"arn:aws:s3:::{NAMES.artifacts_bucket}"
    assert statements["ReadModelArtifacts"]["Action"] == "s3:GetObject"
    # The models prefix only, as the build account's bucket policy grants it: not training data, not code.
    assert statements["ReadModelArtifacts"]["Resource"] == f"{bucket}/models/*"
    assert "ListModelArtifacts" not in statements
    assert role["RoleName"] == NAMES.endpoint_execution_role("prod")
    decrypt = statements["DecryptModelArtifactsThroughS3"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Resource"] == f"arn:aws:kms:{REGION}:{BUILD_ACCOUNT}:key/*"
    assert decrypt["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": NAMES.artifacts_key_alias},
        "StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"},
    }
    assert statements["DescribeApprovedModelPackage"]["Resource"] == approved(3).model_package_arn
    # The approved image's one repository, not any repository of any account.
    image_repository = f"arn:aws:ecr:{REGION}:{IMAGE_ACCOUNT}:repository/{IMAGE_REPOSITORY}"
    assert statements["PullModelImage"]["Resource"] == image_repository
    assert statements["WriteEndpointLogs"]["Resource"][0].endswith(
        f":log-group:/aws/sagemaker/Endpoints/{NAMES.endpoint('prod')}"
    )
    assert statements["PublishEndpointMetrics"]["Condition"] == {
        "StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/Endpoints*"]}
    }
    wildcard = {sid for sid, s in statements.items() if s["Resource"] == "*"}
    assert wildcard == {"AuthenticateToEcr", "PublishEndpointMetrics", "DescribeEndpointNetwork"}


def test_network_interfaces_only_in_the_environments_subnets_and_security_group(synth: Synthesized) -> None:
    create = _statements(synth, "Prod")["CreateEndpointNetworkInterfaces"]
    subnets, security_group = endpoint_network_ids(PROD_ACCOUNT)
    ec2 = f"arn:aws:ec2:{REGION}:{PROD_ACCOUNT}"
    assert create["Action"] == "ec2:CreateNetworkInterface"
    assert sorted(create["Resource"]) == sorted(
        [
            f"{ec2}:network-interface/*",
            *(f"{ec2}:subnet/{subnet}" for subnet in subnets),
            f"{ec2}:security-group/{security_group}",
        ]
    )


def test_data_capture_goes_encrypted_to_the_stacks_bucket(synth: Synthesized) -> None:
    capture = synth.one("Prod", "AWS::SageMaker::EndpointConfig")["DataCaptureConfig"]
    (key_id,) = synth.resources("Prod", "AWS::KMS::Key")
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 25
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert capture["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    bucket_id = next(
        k for k in synth.resources("Prod", "AWS::S3::Bucket") if k.startswith("DataCaptureBucket")
    )
    assert capture["DestinationS3Uri"] == {"Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/data-capture"]]}
    template = synth.template("Prod")
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like(
                        {
                            "ServerSideEncryptionByDefault": {
                                "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
                                "SSEAlgorithm": "aws:kms",
                            }
                        }
                    )
                ]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "data-capture/"}),
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        Match.object_like(
            {
                "PolicyDocument": Match.object_like(
                    {
                        "Statement": Match.array_with(
                            [
                                Match.object_like(
                                    {
                                        "Effect": "Deny",
                                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                    }
                                )
                            ]
                        )
                    }
                )
            }
        ),
    )
    write = _statements(synth, "Prod")["WriteDataCapture"]
    assert write["Action"] == "s3:PutObject"
    assert write["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/data-capture/*"]]}
    assert "DataCaptureConfig" not in synth.one("Gpu", "AWS::SageMaker::EndpointConfig")


def test_data_capture_is_retained_everywhere_and_expires_in_dev(synth: Synthesized) -> None:
    """A bucket holding captures cannot be deleted: retaining it is what lets destroy succeed."""

    def buckets(case: str) -> dict[str, dict[str, Any]]:
        return dict(synth.resources(case, "AWS::S3::Bucket"))

    for case in ("Prod", "Build"):
        for logical_id, bucket in buckets(case).items():
            assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain"), (
                logical_id
            )
        for logical_id, key in synth.resources(case, "AWS::KMS::Key").items():
            assert key["DeletionPolicy"] == "Retain", f"{logical_id}: its bucket would be unreadable"
    dev_rules = [b["Properties"]["LifecycleConfiguration"]["Rules"] for b in buckets("Build").values()]
    assert len(dev_rules) == 2  # captures and their access logs
    for rules in dev_rules:
        assert [
            (r["ExpirationInDays"], r["NoncurrentVersionExpiration"]["NoncurrentDays"]) for r in rules
        ] == [(30, 1)]
    assert all("LifecycleConfiguration" not in b["Properties"] for b in buckets("Prod").values())
    for case in synth.templates:
        kinds = {r["Type"] for r in synth.templates[case]["Resources"].values()}
        # No auto-delete custom resource: the only custom resources are the scaling ones.
        assert {k for k in kinds if k.startswith("Custom::")} <= SCALING_TYPES, case


# --- auto scaling --------------------------------------------------------------------------------------


def _logical_id(synth: Synthesized, case: str, kind: str) -> str:
    (logical_id,) = synth.resources(case, kind)
    return logical_id


def test_scaling_is_owned_by_custom_resources_around_the_endpoint(synth: Synthesized) -> None:
    """The guard before the endpoint, the registration after it; no CloudFormation target or policy, which
    deregistering would leave drifted."""
    for case in synth.templates:
        kinds = {r["Type"] for r in synth.templates[case]["Resources"].values()}
        assert not any(kind.startswith("AWS::ApplicationAutoScaling::") for kind in kinds), case
    resources = synth.templates["Prod"]["Resources"]
    guard = _logical_id(synth, "Prod", "Custom::ScalingGuard")
    registration = _logical_id(synth, "Prod", "Custom::ScalingRegistration")
    assert guard in resources["Endpoint"]["DependsOn"]
    assert "Endpoint" in resources[registration]["DependsOn"]
    assert "DependsOn" not in resources[guard]
    (function,) = synth.resources("Prod", "AWS::Lambda::Function")
    for logical_id in (guard, registration):
        assert resources[logical_id]["Properties"]["ServiceToken"] == {"Fn::GetAtt": [function, "Arn"]}
        assert resources[logical_id]["DeletionPolicy"] == "Delete"
    assert synth.one("Prod", "Custom::ScalingRegistration") == {
        "ServiceToken": {"Fn::GetAtt": [function, "Arn"]},
        "EndpointName": NAMES.endpoint("prod"),
        "VariantName": "AllTraffic",
        "InstanceType": "ml.m5.xlarge",
        "MinCapacity": 2,
        "MaxCapacity": 6,
        "TargetValue": 750,
        "PolicyName": "InvocationsPerInstance",
        "MetricType": "SageMakerVariantInvocationsPerInstance",
    }
    # Both see every setting, so a change updates (and a rollback restores) both.
    assert synth.one("Prod", "Custom::ScalingGuard") == synth.one("Prod", "Custom::ScalingRegistration")


def test_an_update_keeps_the_scalers_instance_count_but_takes_the_new_type(synth: Synthesized) -> None:
    endpoint = synth.one("Prod", "AWS::SageMaker::Endpoint")
    assert endpoint["RetainAllVariantProperties"] is True
    # InstanceType is not a retained property; DataCaptureConfig is "not currently supported" as one.
    assert endpoint["ExcludeRetainedVariantProperties"] == [{"VariantPropertyType": "DesiredWeight"}]
    config = synth.one("ProdBigger", "AWS::SageMaker::EndpointConfig")
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.2xlarge"


def test_unscaled_endpoints_keep_the_scaling_resources_without_settings(synth: Synthesized) -> None:
    """Turning scaling on or off later is then an update, which rolls back in dependency order."""
    for kind in SCALING_TYPES:
        properties = synth.one("Gpu", kind)
        assert "MaxCapacity" not in properties
        assert properties["InstanceType"] == "ml.g5.2xlarge"
    assert "RetainAllVariantProperties" not in synth.one("Gpu", "AWS::SageMaker::Endpoint")


@pytest.mark.parametrize("case", ["Prod", "Gpu", "Build", "Long"])
def test_the_scaling_function_is_inline_and_fits(synth: Synthesized, case: str) -> None:
    function = synth.one(case, "AWS::Lambda::Function")
    assert function["Runtime"] == "python3.14"
    assert function["Handler"] == "index.handler"
    assert function["Code"] == {"ZipFile": inline_source("scaling_registration")}
    assert len(function["Code"]["ZipFile"]) <= INLINE_CODE_LIMIT
    (log_group,) = synth.resources(case, "AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["RetentionInDays"] == 365
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": _logical_id(synth, case, "AWS::Logs::LogGroup")}}


def test_the_scaling_role_may_act_on_this_endpoint_only(synth: Synthesized) -> None:
    (policy,) = synth.resources("Prod", "AWS::IAM::Policy").values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    where = f"{REGION}:{PROD_ACCOUNT}"
    endpoint = NAMES.endpoint("prod")
    assert statements["ReadOwnStackStatus"]["Resource"] == {"Ref": "AWS::StackId"}
    assert statements["RegisterEndpointVariant"]["Resource"] == (
        f"arn:aws:application-autoscaling:{where}:scalable-target/*"
    )
    assert statements["ScaleEndpointVariant"]["Resource"] == f"arn:aws:sagemaker:{where}:endpoint/{endpoint}"
    assert statements["ManageTargetTrackingAlarms"]["Resource"] == (
        f"arn:aws:cloudwatch:{where}:alarm:TargetTracking-endpoint/{endpoint}/variant/*"
    )
    linked = statements["CreateScalingServiceLinkedRole"]
    assert linked["Resource"].endswith(
        "role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    )
    assert linked["Condition"] == {
        "StringEquals": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}
    }
    everywhere = [sid for sid, s in statements.items() if s["Resource"] == "*"]
    assert everywhere == ["FindEndpointScalableTargets"]
    assert (
        statements["FindEndpointScalableTargets"]["Action"]
        == "application-autoscaling:DescribeScalableTargets"
    )


def test_endpoint_name_is_an_output(synth: Synthesized) -> None:
    assert synth.templates["Prod"]["Outputs"]["EndpointName"]["Value"] == {
        "Fn::GetAtt": ["Endpoint", "EndpointName"]
    }


# --- whole-template checks -----------------------------------------------------------------------------


def _assets(synth: Synthesized, case: str) -> dict[str, Any]:
    return json.loads((synth.outdir / f"{synth.stacks[case].artifact_id}.assets.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", list(CASES))
def test_no_assets(synth: Synthesized, case: str) -> None:
    assets = _assets(synth, case)
    assert assets["dockerImages"] == {}
    # The template itself is the only file CDK publishes.
    assert [f["source"]["path"] for f in assets["files"].values()] == [
        f"{synth.stacks[case].artifact_id}.template.json"
    ]


def test_cdk_nag_ran_on_the_endpoint_stacks(synth: Synthesized) -> None:
    """Open findings fail the synth itself; that cdk-nag looked at all shows in what it acknowledged."""
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    acknowledged = {v["ruleName"] for v in nag["suppressedViolations"]}
    assert "AwsSolutions-IAM5[Resource::*]" in acknowledged


def _lint(path: Path) -> Iterator[str]:
    for match in lint_file(path, ManualArgs(regions=[REGION])):
        if match.rule.id != "W3005":
            yield str(match)


@pytest.mark.parametrize("case", list(CASES))
def test_cfn_lint_is_clean(synth: Synthesized, case: str) -> None:
    path = synth.outdir / f"{synth.stacks[case].artifact_id}.template.json"
    assert list(_lint(path)) == []
