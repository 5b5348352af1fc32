"""The dev registry cleanup custom resource, called as Lambda calls it, against moto's SageMaker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.test_approval_trigger import FakeContext, load_handler

HANDLER = Path(__file__).resolve().parent.parent / "functions" / "registry_cleanup" / "index.py"
GROUP = "mlops-demo-models-dev-models"
REGION = "us-east-1"


def cfn_event(request_type: str) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?sig=1",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/build-support/1",
        "RequestId": "d4e5",
        "LogicalResourceId": "RegistryCleanupOnDelete",
        "PhysicalResourceId": "cleanup-1",
        "ResourceType": "Custom::ModelRegistryCleanup",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:x", "ModelPackageGroupName": GROUP},
    }


@pytest.fixture
def cleanup(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, list[str], list[dict[str, Any]]]]:
    """The handler under moto with three versions; deletions and CloudFormation answers recorded."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
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
        answers: list[dict[str, Any]] = []
        client = module._sagemaker()

        # moto lists model packages but cannot delete them: record what the handler deletes.
        def record(**call: str) -> None:
            deleted.append(call["ModelPackageName"])

        monkeypatch.setattr(client, "delete_model_package", record)

        class Response:
            status = 200

            def __enter__(self) -> Response:
                return self

            def __exit__(self, *args: object) -> None:
                return None

        def urlopen(request: Any, timeout: float) -> Response:
            assert request.get_method() == "PUT"
            answers.append(json.loads(request.data))
            return Response()

        monkeypatch.setattr(module.urllib.request, "urlopen", urlopen)
        yield module, deleted, answers


def test_delete_removes_every_version_then_reports_success(
    cleanup: tuple[ModuleType, list[str], list[dict[str, Any]]],
) -> None:
    module, deleted, answers = cleanup
    assert module.handler(cfn_event("Delete"), FakeContext()) is None
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
    module.handler(cfn_event(request_type), FakeContext())
    assert deleted == []
    assert [a["Status"] for a in answers] == ["SUCCESS"]


def test_a_failure_is_reported_to_cloudformation_not_raised(
    cleanup: tuple[ModuleType, list[str], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _, answers = cleanup

    def refuse(**call: str) -> None:
        raise RuntimeError("AccessDenied")

    monkeypatch.setattr(module._sagemaker(), "delete_model_package", refuse)
    module.handler(cfn_event("Delete"), FakeContext())
    (answer,) = answers
    assert answer["Status"] == "FAILED"
    assert "AccessDenied" in answer["Reason"]
