"""Tests for the approval trigger Lambda, invoked exactly as Lambda does: handler(event, context).

The handler is loaded from a file path so the same tests can run against the synthesized asset
copy: a test module that does `from test_approval_trigger import *` and redefines the
`handler_path` fixture reruns every test here against that file.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE_HANDLER = REPO_ROOT / "functions" / "approval_trigger" / "index.py"

REGION = "us-east-1"
ACCOUNT = "123456789012"
GROUP = "demo-model-group"
PARAMETER = "/demo/approved-model"
PIPELINE = "demo-deploy"
INITIAL_VALUE = "NONE"

BUILD_PIPELINE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/demo-build"
PACKAGE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/3"
IMAGE_DIGEST = "sha256:4dc8a7e4a010a19bb9e0a6b063f355393f6e623603361bd8b105f554d4f0c004"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
MODEL_DATA = f"s3://sagemaker-{REGION}-{ACCOUNT}/{GROUP}/pipelines-abc/TrainModel/output/model.tar.gz"
EXPECTED_VALUE = f'{{"imageUri":"{IMAGE}","modelDataUrl":"{MODEL_DATA}","modelPackageArn":"{PACKAGE_ARN}"}}'


def load_handler(path: Path) -> ModuleType:
    """Import a handler file as a fresh module (unique name, so copies never collide)."""
    name = f"approval_trigger_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as the import system would; dataclasses/typing look it up
    spec.loader.exec_module(module)
    return module


class FakeContext:
    """The attributes of the Lambda context object that a handler may read."""

    function_name = "approval-trigger"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:approval-trigger"
    memory_limit_in_mb = 128
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name = "/aws/lambda/approval-trigger"
    log_stream_name = "2026/01/01/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def model_package_event(
    *, status: str = "Approved", group: str = GROUP, detail_type: str = "SageMaker Model Package State Change"
) -> dict[str, Any]:
    """An EventBridge event shaped like the AWS docs' "Model package state change" example."""
    return {
        "version": "0",
        "id": "844e2571-85d4-695f-b930-0153b71dcb42",
        "detail-type": detail_type,
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": "2026-01-15T17:00:14Z",
        "region": REGION,
        "resources": [PACKAGE_ARN],
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageVersion": 3,
            "ModelPackageArn": PACKAGE_ARN,
            "CreationTime": "2026-01-15T16:58:02Z",
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": IMAGE,
                        "ImageDigest": IMAGE_DIGEST,
                        "ModelDataUrl": MODEL_DATA,
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            "CertifyForMarketplace": False,
            "ModelApprovalStatus": status,
            "MetadataProperties": {"GeneratedBy": f"{BUILD_PIPELINE_ARN}/execution/4r83jejmhorv"},
            "LastModifiedTime": "2026-01-15T17:00:14Z",
        },
    }


def sns_record(message: str) -> dict[str, Any]:
    """One record of the event SNS passes to a subscribed Lambda function."""
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:model-approvals"
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{topic}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
        "Sns": {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic,
            "Subject": None,
            "Message": message,
            "Timestamp": "2026-01-15T17:00:15.123Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
            "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes": {},
        },
    }


def sns_event(*messages: str | dict[str, Any]) -> dict[str, Any]:
    """An SNS-to-Lambda event; dict messages are JSON-encoded the way EventBridge delivers them."""
    return {"Records": [sns_record(m if isinstance(m, str) else json.dumps(m)) for m in messages]}


def without(path: tuple[str, ...]) -> dict[str, Any]:
    """An approved event with the key at `path` (below the event root) removed."""
    event = model_package_event()
    parent: Any = event
    for key in path[:-1]:
        parent = parent[int(key)] if isinstance(parent, list) else parent[key]
    del parent[path[-1]]
    return event


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region (never real AWS), plus the handler's configuration."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "APPROVED_MODEL_PARAMETER": PARAMETER,
        "DEPLOY_PIPELINE_NAME": PIPELINE,
        "MODEL_PACKAGE_GROUP_NAME": GROUP,
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def aws(aws_env: None) -> Iterator[None]:
    """Moto with the parameter at its initial value and an existing deploy pipeline."""
    with mock_aws():
        boto3.client("ssm").put_parameter(Name=PARAMETER, Value=INITIAL_VALUE, Type="String")
        role = boto3.client("iam").create_role(
            RoleName="codepipeline",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "codepipeline.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )
        boto3.client("codepipeline").create_pipeline(
            pipeline={
                "name": PIPELINE,
                "roleArn": role["Role"]["Arn"],
                "artifactStore": {"type": "S3", "location": "artifacts"},
                "stages": [
                    {
                        "name": "Source",
                        "actions": [
                            {
                                "name": "Parameter",
                                "actionTypeId": {
                                    "category": "Source",
                                    "owner": "AWS",
                                    "provider": "S3",
                                    "version": "1",
                                },
                                "configuration": {"S3Bucket": "artifacts", "S3ObjectKey": "source.zip"},
                                "outputArtifacts": [{"name": "Source"}],
                            }
                        ],
                    },
                    {
                        "name": "Deploy",
                        "actions": [
                            {
                                "name": "Deploy",
                                "actionTypeId": {
                                    "category": "Build",
                                    "owner": "AWS",
                                    "provider": "CodeBuild",
                                    "version": "1",
                                },
                                "configuration": {"ProjectName": "deploy"},
                                "inputArtifacts": [{"name": "Source"}],
                            }
                        ],
                    },
                ],
            }
        )
        yield


@pytest.fixture
def handler_path() -> Path:
    """The handler file under test; override to test the synthesized asset copy instead."""
    return SOURCE_HANDLER


@pytest.fixture
def trigger(aws: None, handler_path: Path) -> ModuleType:
    """The handler module, imported inside the mock so its lazily created clients are mocked."""
    return load_handler(handler_path)


def parameter() -> Mapping[str, object]:
    return boto3.client("ssm").get_parameter(Name=PARAMETER)["Parameter"]


def execution_ids() -> list[str]:
    summaries = boto3.client("codepipeline").list_pipeline_executions(pipelineName=PIPELINE)
    return [s["pipelineExecutionId"] for s in summaries["pipelineExecutionSummaries"]]


def assert_untouched() -> None:
    assert parameter()["Value"] == INITIAL_VALUE
    assert parameter()["Version"] == 1  # not even rewritten with the same value
    assert execution_ids() == []


def test_approved_event_records_model_and_starts_one_execution(trigger: ModuleType) -> None:
    result = trigger.handler(sns_event(model_package_event()), FakeContext())

    assert parameter()["Value"] == EXPECTED_VALUE
    assert parameter()["Type"] == "String"
    assert json.loads(str(parameter()["Value"])) == {
        "imageUri": IMAGE,
        "modelDataUrl": MODEL_DATA,
        "modelPackageArn": PACKAGE_ARN,
    }
    assert len(execution_ids()) == 1
    assert result == {"started": execution_ids(), "ignored": 0}


def _rejected() -> dict[str, Any]:
    return model_package_event(status="Rejected")


def _too_many_containers() -> dict[str, Any]:
    event = model_package_event()
    containers = event["detail"]["InferenceSpecification"]["Containers"]
    containers.append(dict(containers[0]))
    return event


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        pytest.param(_rejected(), "approval status is 'Rejected'", id="rejected"),
        pytest.param(
            model_package_event(status="PendingManualApproval"),
            "approval status is 'PendingManualApproval'",
            id="pending",
        ),
        pytest.param(model_package_event(group="other-group"), "group 'other-group'", id="other-group"),
        pytest.param(
            model_package_event(detail_type="SageMaker Model State Change"),
            "not a model package state change",
            id="other-detail-type",
        ),
        pytest.param('{"detail-type": "SageMaker Model Package', "not valid JSON", id="malformed-json"),
        pytest.param("[1, 2]", "not a JSON object", id="json-not-object"),
        pytest.param(without(("detail",)), "event.detail is missing", id="no-detail"),
        pytest.param(
            without(("detail", "ModelPackageArn")), "detail.ModelPackageArn is missing", id="no-package-arn"
        ),
        pytest.param(
            without(("detail", "InferenceSpecification")),
            "detail.InferenceSpecification is missing",
            id="no-inference-specification",
        ),
        pytest.param(
            without(("detail", "InferenceSpecification", "Containers", "0", "ModelDataUrl")),
            "Containers[0].ModelDataUrl is missing",
            id="no-model-data-url",
        ),
        pytest.param(
            without(("detail", "InferenceSpecification", "Containers", "0", "Image")),
            "Containers[0].Image is missing",
            id="no-image",
        ),
        pytest.param(_too_many_containers(), "not exactly one container", id="two-containers"),
    ],
)
def test_non_approvals_are_logged_and_ignored(
    trigger: ModuleType, caplog: pytest.LogCaptureFixture, message: str | dict[str, Any], reason: str
) -> None:
    with caplog.at_level(logging.INFO):
        result = trigger.handler(sns_event(message), FakeContext())

    assert result == {"started": [], "ignored": 1}
    assert_untouched()
    ignored_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Ignoring")]
    assert len(ignored_lines) == 1
    assert reason in ignored_lines[0]


def test_empty_records_do_nothing(trigger: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        result = trigger.handler({"Records": []}, FakeContext())

    assert result == {"started": [], "ignored": 0}
    assert_untouched()
    assert "Records list is empty" in caplog.text


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(model_package_event(), id="eventbridge-direct"),
        pytest.param({}, id="empty-object"),
        pytest.param({"Records": "nope"}, id="records-not-list"),
        pytest.param(None, id="null"),
    ],
)
def test_non_sns_event_is_ignored(
    trigger: ModuleType, caplog: pytest.LogCaptureFixture, event: object
) -> None:
    with caplog.at_level(logging.INFO):
        result = trigger.handler(event, FakeContext())

    assert result == {"started": [], "ignored": 1}
    assert_untouched()
    assert "did not come from SNS" in caplog.text


def test_non_sns_record_is_ignored(trigger: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    sqs_record = {"eventSource": "aws:sqs", "body": json.dumps(model_package_event())}
    with caplog.at_level(logging.INFO):
        result = trigger.handler({"Records": [sqs_record]}, FakeContext())

    assert result == {"started": [], "ignored": 1}
    assert_untouched()
    assert "not an SNS record" in caplog.text


def test_two_records_one_approved_starts_once(trigger: ModuleType) -> None:
    event = sns_event(_rejected(), model_package_event())

    result = trigger.handler(event, FakeContext())

    assert parameter()["Value"] == EXPECTED_VALUE
    assert parameter()["Version"] == 2
    assert len(execution_ids()) == 1
    assert result == {"started": execution_ids(), "ignored": 1}


def test_each_approved_record_starts_its_own_execution(trigger: ModuleType) -> None:
    result = trigger.handler(sns_event(model_package_event(), model_package_event()), FakeContext())

    assert sorted(result["started"]) == sorted(execution_ids())
    assert len(execution_ids()) == 2
    assert parameter()["Value"] == EXPECTED_VALUE


def test_aws_failure_propagates_so_lambda_retries(
    trigger: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_PIPELINE_NAME", "no-such-pipeline")

    with pytest.raises(ClientError, match="PipelineNotFoundException"):
        trigger.handler(sns_event(model_package_event()), FakeContext())
    assert execution_ids() == []


def test_import_creates_no_clients(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing outside any mock must not touch boto3, so the region is only resolved at call time."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("boto3 client created at import time")

    monkeypatch.setattr(boto3, "client", refuse)
    load_handler(SOURCE_HANDLER)
