"""The dev registry cleanup custom resource, called as Lambda calls it, against moto's SageMaker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.conftest import fake_aws_credentials, offline_aws, record_cloudformation_answers
from tests.lambda_harness import load_handler

HANDLER = Path(__file__).resolve().parent.parent / "functions" / "registry_cleanup" / "index.py"
GROUP = "mlops-demo-models-dev-models"
REGION = "us-east-1"


class Context:
    """The Lambda context the handler reads: its log stream and the time it has left."""

    log_stream_name = "2026/01/01/[$LATEST]abcdef"

    def __init__(self, remaining_millis: int = 900_000) -> None:
        self.remaining_millis = remaining_millis

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


def cfn_event(request_type: str, *, delete_versions: str = "true") -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?sig=1",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/build-support/1",
        "RequestId": "d4e5",
        "LogicalResourceId": "RegistryCleanupOnDelete",
        "PhysicalResourceId": "cleanup-1",
        "ResourceType": "Custom::ModelRegistryCleanup",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:x",
            "ModelPackageGroupName": GROUP,
            "DeleteVersionsWithStack": delete_versions,
        },
    }


@pytest.fixture
def cleanup(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, list[str], list[dict[str, Any]]]]:
    """The handler under moto with three versions; deletions and CloudFormation answers recorded."""
    fake_aws_credentials(monkeypatch, REGION)
    with offline_aws():
        sagemaker = boto3.client("sagemaker")
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        for _ in range(3):
            sagemaker.create_model_package(
                ModelPackageGroupName=GROUP,
                InferenceSpecification={
                    "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
            )
        module = load_handler(HANDLER)
        deleted: list[str] = []
        client = module._sagemaker()

        # moto lists model packages but cannot delete them: record what the handler deletes, and list
        # what is left as SageMaker would once it has finished.
        def record(**call: str) -> None:
            deleted.append(call["ModelPackageName"])

        monkeypatch.setattr(client, "delete_model_package", record)
        listed = module.versions
        monkeypatch.setattr(module, "versions", lambda group: [a for a in listed(group) if a not in deleted])
        monkeypatch.setattr(module, "stack_status", lambda stack_id: "DELETE_IN_PROGRESS")
        monkeypatch.setattr(module, "POLL_SECONDS", 0)
        answers = record_cloudformation_answers(monkeypatch, module)
        yield module, deleted, answers


def test_stack_deletion_removes_every_version_then_reports_success(
    cleanup: tuple[ModuleType, list[str], list[dict[str, Any]]],
) -> None:
    module, deleted, answers = cleanup
    assert module.handler(cfn_event("Delete"), Context()) is None
    assert len(deleted) == 3
    assert all(f":model-package/{GROUP}/" in arn for arn in deleted)
    (answer,) = answers
    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == "cleanup-1"
    assert answer["RequestId"] == "d4e5"
    assert "deleted 3 model package versions" in answer["Reason"]


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_touch_nothing(
    cleanup: tuple[ModuleType, list[str], list[dict[str, Any]]], request_type: str
) -> None:
    module, deleted, answers = cleanup
    module.handler(cfn_event(request_type), Context())
    assert deleted == []
    assert [a["Status"] for a in answers] == ["SUCCESS"]


@pytest.mark.parametrize(
    "status", ["UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"]
)
def test_leaving_the_template_deletes_nothing(
    cleanup: tuple[ModuleType, list[str], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, status: str
) -> None:
    """A resource removed or replaced by an update gets a Delete too; the stack lives on."""
    module, deleted, answers = cleanup
    monkeypatch.setattr(module, "stack_status", lambda stack_id: status)
    module.handler(cfn_event("Delete"), Context())
    assert deleted == []
    (answer,) = answers
    assert answer["Status"] == "SUCCESS"
    assert f"kept every version of {GROUP}: the stack is not being deleted ({status})" in answer["Reason"]


def test_an_environment_that_keeps_data_deletes_nothing_even_with_its_stack(
    cleanup: tuple[ModuleType, list[str], list[dict[str, Any]]],
) -> None:
    module, deleted, answers = cleanup
    module.handler(cfn_event("Delete", delete_versions="false"), Context())
    assert deleted == []
    assert "this environment keeps its model versions" in answers[0]["Reason"]


def test_success_waits_until_sagemaker_lists_no_version(
    cleanup: tuple[ModuleType, list[str], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, deleted, answers = cleanup
    still_listed = iter([["a", "b"], ["a"], []])
    monkeypatch.setattr(module, "versions", lambda group: next(still_listed) if deleted else ["a", "b"])
    module.handler(cfn_event("Delete"), Context())
    assert next(still_listed, "drained") == "drained"
    assert answers[0]["Status"] == "SUCCESS"


def test_running_out_of_time_is_a_failure_not_a_false_success(
    cleanup: tuple[ModuleType, list[str], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _, answers = cleanup
    monkeypatch.setattr(module, "versions", lambda group: ["still-deleting"])
    module.handler(cfn_event("Delete"), Context(remaining_millis=20_000))
    (answer,) = answers
    assert answer["Status"] == "FAILED"
    assert "1 versions of" in answer["Reason"]


def test_stack_status_is_read_from_cloudformation(
    cleanup: tuple[ModuleType, list[str], list[dict[str, Any]]],
) -> None:
    """By stack id, which DescribeStacks still answers while the stack deletes (moto's CloudFormation needs
    extras this suite does not install, so the one call is stubbed with botocore's Stubber)."""
    _, _, _ = cleanup
    module = load_handler(HANDLER)
    stack_id = cfn_event("Delete")["StackId"]
    with Stubber(module._cloudformation()) as stub:
        stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "build-support",
                        "StackId": stack_id,
                        "CreationTime": "2026-01-01T00:00:00Z",
                        "StackStatus": "DELETE_IN_PROGRESS",
                    }
                ]
            },
            {"StackName": stack_id},
        )
        assert module.stack_status(stack_id) == "DELETE_IN_PROGRESS"
        stub.assert_no_pending_responses()
