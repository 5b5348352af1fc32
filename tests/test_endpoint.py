"""The endpoint stack: synthesized in-process with cdk-nag on, once for all variants; every other test
reads those templates (the whole app's determinism is test_stack's)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match
from cfnlint.api import ManualArgs, lint_by_config  # type: ignore[import-untyped]
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from names import SAGEMAKER_NAME
from settings import NO_APPROVED_MODEL
from stages.endpoint import NVME_FAMILIES, EndpointStack, nvme_instance
from stages.endpoint_guardrails import VARIANT_NAME
from tests.conftest import Synth
from tests.endpoint_harness import (
    CASES,
    CONTEXT,
    EXECUTION_ROLE,
    GOVERNANCE,
    LONG,
    LONG_NAMES,
    NAMES,
    PROD,
    PROD_ACCOUNT,
    REGION,
    SAGEMAKER_NAME_PATTERN,
    SCALING_TYPES,
    Synthesized,
    approved,
    execution_role_statements,
)


@pytest.fixture(scope="module")
def synth(endpoint_synth: Synthesized) -> Synthesized:
    """The harness's endpoint stacks, synthesized once for the session."""
    return endpoint_synth


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


def test_a_long_groups_endpoint_takes_its_shortened_name(synth: Synthesized) -> None:
    """The shortening rule itself is test_names'."""
    endpoint = synth.one("Long", "AWS::SageMaker::Endpoint")["EndpointName"]
    assert endpoint == LONG_NAMES.endpoint(LONG.name)


# --- model, role, network ------------------------------------------------------------------------------


def test_model_serves_the_approved_package(synth: Synthesized) -> None:
    model = synth.one("Prod", "AWS::SageMaker::Model")
    assert model["Containers"] == [{"ModelPackageName": approved(3).model_package_arn}]
    (role_id,) = synth.resources("Prod", "AWS::IAM::Role", EXECUTION_ROLE)
    assert model["ExecutionRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_model_container_has_no_network_unless_turned_off(synth: Synthesized) -> None:
    assert synth.one("Prod", "AWS::SageMaker::Model")["EnableNetworkIsolation"] is True
    assert synth.one("Gpu", "AWS::SageMaker::Model")["EnableNetworkIsolation"] is False


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
    write = execution_role_statements(synth, "Prod")["WriteDataCapture"]
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


# Each kind of endpoint template once: ProdNextVersion and ProdBigger differ from Prod in values only, and
# the shared synths' placeholders are linted in the pool.
LINTED = ("Prod", "Gpu", "Build", "Long")


@pytest.fixture(scope="module")
def lint_findings(synth: Synthesized) -> dict[str, list[str]]:
    """cfn-lint's findings (all but W3005) per linted case, from one call: cfn-lint loads its rules per
    call, which is half a second each."""
    paths = {case: synth.outdir / f"{synth.stacks[case].artifact_id}.template.json" for case in LINTED}
    config = ManualArgs(templates=[str(p) for p in paths.values()], regions=[REGION], ignore_checks=["W3005"])
    findings: dict[str, list[str]] = {case: [] for case in LINTED}
    for match in lint_by_config(config):
        (case,) = [case for case, path in paths.items() if Path(match.filename) == path]
        findings[case].append(str(match))
    return findings


@pytest.mark.parametrize("case", LINTED)
def test_cfn_lint_is_clean(lint_findings: dict[str, list[str]], case: str) -> None:
    assert lint_findings[case] == []
