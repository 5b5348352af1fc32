"""What the Lambda handler tests share: loading a handler file as Lambda does, its context, and the
approval trigger's events and moto account (a helper module, not a test module)."""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from tests.conftest import offline_aws

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


@pytest.fixture(name="aws_env")
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
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


@pytest.fixture(name="aws")
def moto_account(aws_env: None) -> Iterator[None]:
    """Moto with the parameter at its initial value and an existing deploy pipeline."""
    with offline_aws():
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
