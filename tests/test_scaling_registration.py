"""The endpoint scaling custom resources, called as Lambda calls them, against moto's auto scaling.

The stack status (DescribeStacks) is stubbed per test; CloudFormation's answers are recorded from the PUT.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from blocks.lambda_functions import INLINE_CODE_LIMIT, inline_source
from tests.conftest import fake_aws_credentials, offline_aws, record_cloudformation_answers
from tests.lambda_harness import load_handler

HANDLER = Path(__file__).resolve().parent.parent / "functions" / "scaling_registration" / "index.py"
REGION = "eu-west-1"
ENDPOINT = "mlops-demo-models-cicd-fraud-prod"
TARGET = f"endpoint/{ENDPOINT}/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
STACK_ID = f"arn:aws:cloudformation:{REGION}:333333333333:stack/endpoint-prod/1"
SMALL = {"EndpointName": ENDPOINT, "VariantName": "AllTraffic", "InstanceType": "ml.m5.xlarge"}
SCALED = {
    **SMALL,
    # CloudFormation passes every property value as a string.
    "MinCapacity": "2",
    "MaxCapacity": "6",
    "TargetValue": "750",
    "PolicyName": "InvocationsPerInstance",
    "MetricType": "SageMakerVariantInvocationsPerInstance",
}
BIGGER = {**SCALED, "InstanceType": "ml.m5.2xlarge"}
GUARD, REGISTRATION = "Custom::ScalingGuard", "Custom::ScalingRegistration"


class Context:
    log_stream_name = "2026/11/30/[$LATEST]abcdef"


def cfn_event(
    resource_type: str,
    request_type: str,
    properties: dict[str, str],
    old: dict[str, str] | None = None,
) -> dict[str, Any]:
    logical_id = "ScalingGuard3BD82786" if resource_type == GUARD else "ScalingRegistration17897B0F"
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/x?sig=1",
        "StackId": STACK_ID,
        "RequestId": "r-1",
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:x", **properties},
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = logical_id
    if old is not None:
        event["OldResourceProperties"] = {"ServiceToken": "arn:aws:lambda:x", **old}
    return event


@dataclass
class Scaling:
    module: ModuleType
    answers: list[dict[str, Any]]
    status: list[str]  # the stack status DescribeStacks answers, settable per test

    def call(self, event: dict[str, Any]) -> dict[str, Any]:
        before = len(self.answers)
        assert self.module.handler(event, Context()) is None
        (answer,) = self.answers[before:]
        return answer

    def targets(self) -> dict[str, tuple[int, int]]:
        client = boto3.client("application-autoscaling")
        found = client.describe_scalable_targets(ServiceNamespace="sagemaker")
        return {t["ResourceId"]: (t["MinCapacity"], t["MaxCapacity"]) for t in found["ScalableTargets"]}

    def policies(self) -> list[dict[str, Any]]:
        client = boto3.client("application-autoscaling")
        found = client.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=TARGET)
        return list(found["ScalingPolicies"])


@pytest.fixture
def scaling(monkeypatch: pytest.MonkeyPatch) -> Iterator[Scaling]:
    fake_aws_credentials(monkeypatch, REGION)
    with offline_aws():
        module = load_handler(HANDLER)
        status = ["UPDATE_IN_PROGRESS"]
        monkeypatch.setattr(module, "_stack_status", lambda stack_id: status[0])
        yield Scaling(module, record_cloudformation_answers(monkeypatch, module), status)


def register_by_hand(min_capacity: int = 1, resource_id: str = TARGET) -> None:
    boto3.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=DIMENSION,
        MinCapacity=min_capacity,
        MaxCapacity=4,
    )


# --- a plain lifecycle ----------------------------------------------------------------------------------


def test_create_registers_target_and_target_tracking_policy(scaling: Scaling) -> None:
    guard = scaling.call(cfn_event(GUARD, "Create", SCALED))
    assert guard["Status"] == "SUCCESS"
    assert scaling.targets() == {}
    answer = scaling.call(cfn_event(REGISTRATION, "Create", SCALED))
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == "ScalingRegistration17897B0F"
    assert (answer["StackId"], answer["RequestId"]) == (STACK_ID, "r-1")
    assert scaling.targets() == {TARGET: (2, 6)}
    (policy,) = scaling.policies()
    assert policy["PolicyName"] == "InvocationsPerInstance"
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 750.0,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
    }


def test_update_with_the_same_instance_type_registers_again_in_place(scaling: Scaling) -> None:
    """New capacities: the guard leaves the target alone, the registration updates it (idempotent)."""
    scaling.call(cfn_event(REGISTRATION, "Create", SCALED))
    wider = {**SCALED, "MaxCapacity": "10", "TargetValue": "500"}
    guard = scaling.call(cfn_event(GUARD, "Update", wider, old=SCALED))
    assert (guard["Status"], scaling.targets()) == ("SUCCESS", {TARGET: (2, 6)})
    assert guard["Reason"].startswith("nothing to do")
    for _ in range(2):
        assert scaling.call(cfn_event(REGISTRATION, "Update", wider, old=SCALED))["Status"] == "SUCCESS"
    assert scaling.targets() == {TARGET: (2, 10)}
    (policy,) = scaling.policies()
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 500.0


def test_a_changed_instance_type_is_deregistered_before_and_registered_after(scaling: Scaling) -> None:
    scaling.call(cfn_event(REGISTRATION, "Create", SCALED))
    guard = scaling.call(cfn_event(GUARD, "Update", BIGGER, old=SCALED))
    assert guard["Status"] == "SUCCESS"
    assert scaling.targets() == {}  # SageMaker now accepts the endpoint update
    assert scaling.call(cfn_event(REGISTRATION, "Update", BIGGER, old=SCALED))["Status"] == "SUCCESS"
    assert scaling.targets() == {TARGET: (2, 6)}


def test_turning_scaling_off_deregisters_before_the_endpoint_update(scaling: Scaling) -> None:
    """Off together with a new instance type must deregister first; off alone may, too."""
    scaling.call(cfn_event(REGISTRATION, "Create", SCALED))
    scaling.call(cfn_event(GUARD, "Update", {**SMALL, "InstanceType": "ml.c5.large"}, old=SCALED))
    assert scaling.targets() == {}
    answer = scaling.call(cfn_event(REGISTRATION, "Update", SMALL, old=SCALED))
    assert (answer["Status"], scaling.targets()) == ("SUCCESS", {})


def test_turning_scaling_on_registers_after_the_endpoint(scaling: Scaling) -> None:
    assert scaling.call(cfn_event(GUARD, "Update", BIGGER, old=SMALL))["Reason"].startswith("nothing")
    scaling.call(cfn_event(REGISTRATION, "Update", BIGGER, old=SMALL))
    assert scaling.targets() == {TARGET: (2, 6)}


def test_unscaled_endpoints_touch_nothing_of_other_endpoints(scaling: Scaling) -> None:
    other = "endpoint/mlops-demo-models-cicd-fraud-prod-2/variant/AllTraffic"
    register_by_hand(resource_id=other)
    scaling.call(cfn_event(GUARD, "Create", SMALL))
    scaling.call(cfn_event(REGISTRATION, "Create", SMALL))
    assert scaling.targets() == {other: (1, 4)}


def test_first_guard_removes_what_an_older_template_registered(scaling: Scaling) -> None:
    """The module's earlier templates named the variant after its instance type: the guard's first run
    deregisters that target, or the endpoint update that removes its variant would be refused."""
    older = f"endpoint/{ENDPOINT}/variant/ml-m5-xlarge"
    register_by_hand(resource_id=older)
    assert scaling.call(cfn_event(GUARD, "Create", SCALED))["Status"] == "SUCCESS"
    assert scaling.targets() == {}
    scaling.call(cfn_event(REGISTRATION, "Create", SCALED))
    assert scaling.targets() == {TARGET: (2, 6)}


# --- rollbacks ------------------------------------------------------------------------------------------


def test_rollback_of_an_instance_type_change_restores_the_old_registration(scaling: Scaling) -> None:
    """The update went through (2xlarge registered), then a later resource failed: CloudFormation rolls back
    the registration, then the endpoint (to xlarge), then the guard, each with its old properties."""
    scaling.call(cfn_event(REGISTRATION, "Create", SCALED))
    scaling.call(cfn_event(GUARD, "Update", BIGGER, old=SCALED))
    scaling.call(cfn_event(REGISTRATION, "Update", BIGGER, old=SCALED))
    scaling.status[0] = "UPDATE_ROLLBACK_IN_PROGRESS"
    answer = scaling.call(cfn_event(REGISTRATION, "Update", SCALED, old=BIGGER))
    assert answer["Status"] == "SUCCESS"
    assert scaling.targets() == {}  # so the endpoint may go back to ml.m5.xlarge
    answer = scaling.call(cfn_event(GUARD, "Update", SCALED, old=BIGGER))
    assert answer["Status"] == "SUCCESS"
    assert scaling.targets() == {TARGET: (2, 6)}
    assert len(scaling.policies()) == 1


def test_rollback_after_a_failed_endpoint_update_registers_the_old_settings(scaling: Scaling) -> None:
    """The endpoint update itself failed: the registration never ran, only the guard rolls back."""
    scaling.call(cfn_event(REGISTRATION, "Create", SCALED))
    scaling.call(cfn_event(GUARD, "Update", BIGGER, old=SCALED))
    scaling.status[0] = "UPDATE_ROLLBACK_IN_PROGRESS"
    scaling.call(cfn_event(GUARD, "Update", SCALED, old=BIGGER))
    assert scaling.targets() == {TARGET: (2, 6)}


def test_rollback_with_the_same_instance_type_restores_the_old_capacities(scaling: Scaling) -> None:
    wider = {**SCALED, "MaxCapacity": "10"}
    register_by_hand(min_capacity=2)
    scaling.call(cfn_event(REGISTRATION, "Update", wider, old=SCALED))
    scaling.status[0] = "UPDATE_ROLLBACK_IN_PROGRESS"
    scaling.call(cfn_event(REGISTRATION, "Update", SCALED, old=wider))
    assert scaling.targets() == {TARGET: (2, 6)}


def test_rollback_of_turning_scaling_on_deregisters_before_the_endpoint(scaling: Scaling) -> None:
    scaling.call(cfn_event(REGISTRATION, "Update", BIGGER, old=SMALL))
    scaling.status[0] = "UPDATE_ROLLBACK_IN_PROGRESS"
    scaling.call(cfn_event(REGISTRATION, "Update", SMALL, old=BIGGER))
    assert scaling.targets() == {}
    scaling.call(cfn_event(GUARD, "Update", SMALL, old=BIGGER))
    assert scaling.targets() == {}


# --- deletion -------------------------------------------------------------------------------------------


def test_stack_deletion_deregisters_and_tolerates_an_absent_target(scaling: Scaling) -> None:
    scaling.status[0] = "DELETE_IN_PROGRESS"
    register_by_hand()
    answer = scaling.call(cfn_event(REGISTRATION, "Delete", SCALED))
    assert (answer["Status"], scaling.targets()) == ("SUCCESS", {})
    assert TARGET in answer["Reason"]
    # Deleting the endpoint deregisters it too (SageMaker Developer Guide, "Delete endpoints configured
    # for auto scaling"): nothing left is no failure.
    again = scaling.call(cfn_event(REGISTRATION, "Delete", SCALED))
    assert again["Status"] == "SUCCESS"
    guard = scaling.call(cfn_event(GUARD, "Delete", SCALED))
    assert guard["Status"] == "SUCCESS"


def test_a_target_that_vanishes_while_deregistering_is_no_failure(
    scaling: Scaling, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Application Auto Scaling answers for a target it no longer has (moto answers otherwise)."""
    register_by_hand()
    client = scaling.module.AAS

    def gone(**call: str) -> None:
        error = {"Error": {"Code": "ObjectNotFoundException", "Message": "No scalable target"}}
        raise client.exceptions.ObjectNotFoundException(error, "DeregisterScalableTarget")

    monkeypatch.setattr(client, "deregister_scalable_target", gone)
    scaling.status[0] = "DELETE_IN_PROGRESS"
    answer = scaling.call(cfn_event(REGISTRATION, "Delete", SCALED))
    assert answer["Status"] == "SUCCESS"
    assert "deregistered []" in answer["Reason"]


def test_a_registration_that_left_the_template_keeps_the_target(scaling: Scaling) -> None:
    """Deleted in the cleanup of a successful update (a new logical id): the new one owns the target."""
    register_by_hand()
    scaling.status[0] = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    assert scaling.call(cfn_event(REGISTRATION, "Delete", SCALED))["Status"] == "SUCCESS"
    assert scaling.targets() == {TARGET: (1, 4)}


@pytest.mark.parametrize("status", ["ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"])
def test_a_registration_created_by_a_failed_operation_is_undone(scaling: Scaling, status: str) -> None:
    register_by_hand()
    scaling.status[0] = status
    scaling.call(cfn_event(REGISTRATION, "Delete", SCALED))
    assert scaling.targets() == {}


# --- failures -------------------------------------------------------------------------------------------


def test_a_failure_is_reported_with_its_reason_and_never_raised(
    scaling: Scaling, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = scaling.module.AAS

    def denied(**call: Any) -> None:
        error = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized to PutScalingPolicy"}}
        raise client.exceptions.ClientError(error, "PutScalingPolicy")

    monkeypatch.setattr(client, "put_scaling_policy", denied)
    answer = scaling.call(cfn_event(REGISTRATION, "Create", SCALED))
    assert answer["Status"] == "FAILED"
    assert "ClientError" in answer["Reason"]
    assert "not authorized to PutScalingPolicy" in answer["Reason"]
    assert Context.log_stream_name in answer["Reason"]
    assert answer["PhysicalResourceId"] == "ScalingRegistration17897B0F"
    # All or nothing: a rollback (which may not call this resource again) finds the variant deregistered.
    assert scaling.targets() == {}


def test_a_malformed_request_fails_in_one_answer(scaling: Scaling) -> None:
    event = cfn_event(REGISTRATION, "Create", {"EndpointName": ENDPOINT})
    answer = scaling.call(event)
    assert answer["Status"] == "FAILED"
    assert "KeyError" in answer["Reason"]


def test_an_unreachable_response_url_is_logged_not_raised(
    scaling: Scaling, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unreachable(request: Any, timeout: float) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr(scaling.module.urllib.request, "urlopen", unreachable)
    assert scaling.module.handler(cfn_event(GUARD, "Create", SCALED), Context()) is None
    assert "Could not answer CloudFormation" in caplog.text


def test_stack_status_is_read_from_cloudformation(scaling: Scaling) -> None:
    """By the stack's own id (moto's CloudFormation needs extras this suite does not install, so the one
    call is stubbed with botocore's Stubber)."""
    module = load_handler(HANDLER)
    with Stubber(module.CFN) as stub:
        stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "endpoint-prod",
                        "StackId": STACK_ID,
                        "CreationTime": "2026-01-01T00:00:00Z",
                        "StackStatus": "UPDATE_ROLLBACK_IN_PROGRESS",
                    }
                ]
            },
            {"StackName": STACK_ID},
        )
        assert module._stack_status(STACK_ID) == "UPDATE_ROLLBACK_IN_PROGRESS"
        stub.assert_no_pending_responses()


# --- the inline code ------------------------------------------------------------------------------------


def test_the_handler_fits_inline_code() -> None:
    source = inline_source("scaling_registration")
    assert source == HANDLER.read_text(encoding="utf-8")
    assert len(source) <= INLINE_CODE_LIMIT


def test_inline_code_over_the_limit_is_refused_at_synth(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "index.py").write_text("#" * (INLINE_CODE_LIMIT + 1))
    monkeypatch.setattr("blocks.lambda_functions.FUNCTIONS", tmp_path)
    with pytest.raises(ValueError, match=r"functions/big/index.py has 4097 characters; .* at most 4096"):
        inline_source("big")
