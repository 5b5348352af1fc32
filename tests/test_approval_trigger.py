"""Tests for the approval trigger Lambda, invoked exactly as Lambda does: handler(event, context).

The handler is loaded from a file path so the same tests can run against the synthesized asset
copy: a test module that does `from test_approval_trigger import *` and redefines the
`handler_path` fixture reruns every test here against that file.
"""

from __future__ import annotations

import base64
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
from moto.codepipeline.models import PipelineExecution

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
    *,
    status: str = "Approved",
    group: str = GROUP,
    detail_type: str = "SageMaker Model Package State Change",
    arn: str = PACKAGE_ARN,
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
        "resources": [arn],
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageVersion": 3,
            "ModelPackageArn": arn,
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
        "MODEL_PACKAGE_PARTITION": "aws",
        "MODEL_PACKAGE_ACCOUNT": ACCOUNT,
        "MODEL_PACKAGE_REGION": REGION,
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


def execution_model(execution_id: str) -> dict[str, str]:
    """The approved model an execution was started with, decoded from its pipeline variable."""
    execution = boto3.client("codepipeline").get_pipeline_execution(
        pipelineName=PIPELINE, pipelineExecutionId=execution_id
    )["pipelineExecution"]
    (variable,) = execution["variables"]
    assert variable["name"] == "APPROVED_MODEL_INFO"
    decoded: dict[str, str] = json.loads(base64.b64decode(variable["resolvedValue"], validate=True))
    return decoded


def assert_untouched() -> None:
    assert parameter()["Value"] == INITIAL_VALUE
    assert parameter()["Version"] == 1  # not even rewritten with the same value
    assert execution_ids() == []


def outcomes(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The handler's structured log lines, one JSON object each."""
    lines: list[dict[str, Any]] = []
    for record in caplog.records:
        if record.name.startswith("approval_trigger_"):
            lines.append(json.loads(record.getMessage()))
    return lines


def nothing(*, ignored: int = 0, refused: int = 0) -> dict[str, Any]:
    return {"started": [], "duplicates": [], "ignored": ignored, "refused": refused}


@pytest.fixture
def executions_keep_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """Moto finishes every execution at once; here they stay InProgress, as queued or running ones are."""
    original = PipelineExecution.__init__

    def running(self: PipelineExecution, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.status = "InProgress"

    monkeypatch.setattr(PipelineExecution, "__init__", running)


def test_approved_event_records_model_and_starts_one_execution_with_it(
    trigger: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        result = trigger.handler(sns_event(model_package_event()), FakeContext())

    assert parameter()["Value"] == EXPECTED_VALUE
    assert parameter()["Type"] == "String"
    (execution_id,) = execution_ids()
    assert execution_model(execution_id) == {
        "imageUri": IMAGE,
        "modelDataUrl": MODEL_DATA,
        "modelPackageArn": PACKAGE_ARN,
    }
    assert result == {**nothing(), "started": [execution_id]}
    (line,) = outcomes(caplog)
    assert line["outcome"] == "started"
    assert line["executionId"] == execution_id
    assert line["modelPackageArn"] == PACKAGE_ARN


def _rejected() -> dict[str, Any]:
    return model_package_event(status="Rejected")


def _too_many_containers() -> dict[str, Any]:
    event = model_package_event()
    containers = event["detail"]["InferenceSpecification"]["Containers"]
    containers.append(dict(containers[0]))
    return event


def _arn(partition: str = "aws", region: str = REGION, account: str = ACCOUNT, group: str = GROUP) -> str:
    return f"arn:{partition}:sagemaker:{region}:{account}:model-package/{group}/3"


def _nested(depth: int) -> str:
    return '{"detail-type": ' + "[" * depth + "]" * depth + "}"


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
            model_package_event(arn=_arn(account="999999999999")),
            "model package account '999999999999' is not '123456789012'",
            id="foreign-account",
        ),
        pytest.param(
            model_package_event(arn=_arn(region="eu-west-1")),
            "model package region 'eu-west-1' is not 'us-east-1'",
            id="foreign-region",
        ),
        pytest.param(
            model_package_event(arn=_arn(partition="aws-cn")),
            "model package partition 'aws-cn' is not 'aws'",
            id="foreign-partition",
        ),
        pytest.param(
            model_package_event(arn=_arn(group="other-group")),
            "model package group 'other-group' is not 'demo-model-group'",
            id="arn-of-other-group",
        ),
        pytest.param(
            model_package_event(arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{GROUP}"),
            "is not a model package version ARN",
            id="group-arn-not-version",
        ),
        pytest.param(
            model_package_event(detail_type="SageMaker Model State Change"),
            "not a model package state change",
            id="other-detail-type",
        ),
        pytest.param('{"detail-type": "SageMaker Model Package', "not valid JSON", id="malformed-json"),
        pytest.param("[1, 2]", "not a JSON object", id="json-not-object"),
        pytest.param(_nested(100_000), "nested too deeply or too large", id="deeply-nested"),
        pytest.param(
            " " * (256 * 1024 + 1),
            "262145 characters, more than SNS delivers (262144)",
            id="oversized-message",
        ),
        pytest.param(
            {**model_package_event(), "detail-type": ["x"] * 10_000},
            "detail-type=a JSON array",
            id="huge-value-not-echoed",
        ),
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
def test_non_approvals_are_logged_once_and_ignored(
    trigger: ModuleType, caplog: pytest.LogCaptureFixture, message: str | dict[str, Any], reason: str
) -> None:
    with caplog.at_level(logging.INFO):
        result = trigger.handler(sns_event(message), FakeContext())

    assert result == nothing(ignored=1)
    assert_untouched()
    (line,) = outcomes(caplog)
    assert line["outcome"] == "ignored"
    assert line["record"] == 0
    assert reason in line["reason"]
    assert len(line["reason"]) < 400


def test_empty_records_do_nothing(trigger: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        result = trigger.handler({"Records": []}, FakeContext())

    assert result == nothing()
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

    assert result == nothing(ignored=1)
    assert_untouched()
    (line,) = outcomes(caplog)
    assert "did not come from SNS" in line["reason"]


def test_non_sns_record_is_ignored(trigger: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    sqs_record = {"eventSource": "aws:sqs", "body": json.dumps(model_package_event())}
    with caplog.at_level(logging.INFO):
        result = trigger.handler({"Records": [sqs_record]}, FakeContext())

    assert result == nothing(ignored=1)
    assert_untouched()
    assert "not an SNS record" in caplog.text


def test_two_records_one_approved_starts_once(trigger: ModuleType) -> None:
    event = sns_event(_rejected(), model_package_event())

    result = trigger.handler(event, FakeContext())

    assert parameter()["Value"] == EXPECTED_VALUE
    assert parameter()["Version"] == 2
    assert len(execution_ids()) == 1
    assert result == {**nothing(ignored=1), "started": execution_ids()}


@pytest.mark.usefixtures("executions_keep_running")
def test_a_duplicate_delivery_starts_nothing(trigger: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    first = trigger.handler(sns_event(model_package_event()), FakeContext())
    caplog.clear()
    with caplog.at_level(logging.INFO):
        again = trigger.handler(sns_event(model_package_event()), FakeContext())

    assert execution_ids() == first["started"]
    assert again == {**nothing(), "duplicates": first["started"]}
    assert parameter()["Version"] == 2  # written once, by the first delivery
    (line,) = outcomes(caplog)
    assert line["outcome"] == "duplicate"
    assert line["executionId"] == first["started"][0]


@pytest.mark.usefixtures("executions_keep_running")
def test_duplicates_within_one_event_start_once(trigger: ModuleType) -> None:
    result = trigger.handler(sns_event(model_package_event(), model_package_event()), FakeContext())

    assert len(execution_ids()) == 1
    assert result == {**nothing(), "started": execution_ids(), "duplicates": execution_ids()}


def test_a_finished_execution_does_not_make_a_new_approval_a_duplicate(trigger: ModuleType) -> None:
    """Reject, then approve again: the rollback path deploys the version again."""
    first = trigger.handler(sns_event(model_package_event()), FakeContext())
    trigger.handler(sns_event(_rejected()), FakeContext())  # moto's executions have already Succeeded
    again = trigger.handler(sns_event(model_package_event()), FakeContext())

    assert len(again["started"]) == 1
    assert again["started"] != first["started"]
    assert len(execution_ids()) == 2


@pytest.mark.usefixtures("executions_keep_running")
def test_re_approving_an_earlier_version_behind_a_later_one_deploys_it_last(trigger: ModuleType) -> None:
    """Only the newest unfinished execution counts: the later version queued after it would win."""
    later_arn = _arn().replace("/3", "/4")
    earlier = trigger.handler(sns_event(model_package_event()), FakeContext())
    later = trigger.handler(sns_event(model_package_event(arn=later_arn)), FakeContext())
    again = trigger.handler(sns_event(model_package_event()), FakeContext())

    assert len(again["started"]) == 1
    assert execution_ids() == [*again["started"], *later["started"], *earlier["started"]]  # newest first
    assert execution_model(again["started"][0])["modelPackageArn"] == PACKAGE_ARN
    assert json.loads(str(parameter()["Value"]))["modelPackageArn"] == PACKAGE_ARN


def test_an_approval_too_large_for_a_pipeline_variable_is_refused_before_writing(
    trigger: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    event = model_package_event()
    event["detail"]["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] = MODEL_DATA + "x" * 700
    with caplog.at_level(logging.INFO):
        result = trigger.handler(sns_event(event), FakeContext())

    assert result == nothing(refused=1)
    assert_untouched()
    (line,) = outcomes(caplog)
    assert line["outcome"] == "refused"
    assert "CodePipeline allows 1000" in line["reason"]
    assert [r.levelname for r in caplog.records] == ["ERROR"]


def test_the_largest_accepted_record_fits_ssm_too(trigger: ModuleType) -> None:
    """The variable is base64 of the record, so 1000 characters of it decode to 750 bytes: within 4 KB."""
    assert trigger.MAX_VARIABLE_CHARACTERS * 3 // 4 <= trigger.MAX_PARAMETER_BYTES
    model = trigger.ApprovedModel("a" * 5000, "s3://b/m", "i")
    assert "CodePipeline allows 1000" in trigger.refusal(model)


def test_the_variable_value_survives_json_pasting(trigger: ModuleType) -> None:
    """CodePipeline pastes the value into the action's JSON unescaped: no quote or backslash may appear."""
    model = trigger.ApprovedModel(PACKAGE_ARN, 's3://bucket/"quoted"\\key', IMAGE)
    value = model.variable_value()
    assert not set(value) & set('"\\\n')
    assert json.loads(json.dumps({"value": "#"}).replace("#", value))["value"] == value


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


def test_the_trigger_writes_nothing_the_synth_would_refuse(trigger: ModuleType) -> None:
    """The synth reads at most what SSM holds; the trigger's refusal keeps records below that."""
    from settings import APPROVED_MODEL_INFO_LIMIT

    assert trigger.MAX_PARAMETER_BYTES == APPROVED_MODEL_INFO_LIMIT
    assert trigger.MAX_VARIABLE_CHARACTERS <= APPROVED_MODEL_INFO_LIMIT
