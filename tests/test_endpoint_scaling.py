"""An endpoint's auto scaling (stages/endpoint_scaling.py): owned by two custom resources around the endpoint,
served by one inline function whose role acts on this endpoint only."""

from __future__ import annotations

import pytest

from blocks.lambda_functions import INLINE_CODE_LIMIT, inline_source
from tests.endpoint_harness import NAMES, PROD_ACCOUNT, REGION, SCALING_TYPES, Synthesized


@pytest.fixture(scope="module")
def synth(endpoint_synth: Synthesized) -> Synthesized:
    """The harness's endpoint stacks, synthesized once for the session."""
    return endpoint_synth


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
