"""The AWS path of ``pipelines.run``, against botocore stubs: what it sends, and what it refuses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from pipelines import run

from tests.conftest import CONTRACT

PIPELINE_ARN = f"arn:aws:sagemaker:eu-west-1:222222222222:pipeline/{CONTRACT['SAGEMAKER_PIPELINE_NAME']}"


@dataclass
class Stubs:
    """One stubber per service, and every operation the run called, in order."""

    stubbers: dict[str, Stubber] = field(default_factory=dict)
    operations: list[str] = field(default_factory=list)

    def __getitem__(self, service: str) -> Stubber:
        return self.stubbers[service]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubs]:
    """Every client the run creates is a real botocore client with a stubber that must be satisfied."""
    clients: dict[str, Any] = {}
    stubs = Stubs()
    create = boto3.session.Session.client

    def record(model: Any, **_: Any) -> None:
        stubs.operations.append(model.name)

    def client(self: boto3.session.Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if service_name not in clients:
            clients[service_name] = create(self, service_name, *args, **kwargs)
            clients[service_name].meta.events.register("before-parameter-build", record)
            stubs.stubbers[service_name] = Stubber(clients[service_name])
            stubs.stubbers[service_name].activate()
        return clients[service_name]

    monkeypatch.setattr(boto3.session.Session, "client", client)
    for service in ("sts", "s3", "sagemaker"):
        client(boto3.session.Session(region_name="eu-west-1"), service)
    yield stubs
    for stubber in stubs.stubbers.values():
        stubber.assert_no_pending_responses()


def identity(stubs: Stubs, role: str) -> None:
    stubs["sts"].add_response(
        "get_caller_identity",
        {
            "Arn": f"arn:aws:sts::222222222222:assumed-role/{role}/model-build-7",
            "Account": "222222222222",
            "UserId": "x",
        },
    )


TAGS = [
    {"Key": "project", "Value": CONTRACT["PROJECT_NAME"]},
    {"Key": "environment-type", "Value": CONTRACT["ENV_TYPE"]},
]
PIPELINE = {
    "PipelineName": CONTRACT["SAGEMAKER_PIPELINE_NAME"],
    "PipelineDefinition": ANY,
    "PipelineDescription": CONTRACT["SAGEMAKER_PIPELINE_DESCRIPTION"],
    "RoleArn": CONTRACT["SAGEMAKER_PIPELINE_ROLE_ARN"],
}


def uploads(stubs: Stubs) -> None:
    # The one prefix the build-account role may write to.
    prefix = f"{CONTRACT['PIPELINE_CODE_PREFIX']}/{run.code_version()}"
    for name in run.SCRIPTS:
        stubs["s3"].add_response(
            "put_object",
            {},
            {
                "Bucket": CONTRACT["ARTIFACT_BUCKET"],
                "Key": f"{prefix}/{name}",
                "Body": (run.SCRIPTS_DIR / name).read_bytes(),
                "ServerSideEncryption": "aws:kms",
                "SSEKMSKeyId": CONTRACT["ARTIFACT_BUCKET_KMS_KEY"],
            },
        )


def start(stubs: Stubs) -> None:
    stubs["sagemaker"].add_response(
        "start_pipeline_execution",
        {"PipelineExecutionArn": f"{PIPELINE_ARN}/execution/abc123"},
        {"PipelineName": CONTRACT["SAGEMAKER_PIPELINE_NAME"]},
    )


@pytest.mark.usefixtures("contract_environment")
def test_uploads_scripts_under_the_key_then_creates_and_starts_the_pipeline(
    aws: Stubs, capsys: pytest.CaptureFixture[str]
) -> None:
    identity(aws, "mlops-dev-model-build-access")
    uploads(aws)
    aws["sagemaker"].add_response(
        "create_pipeline", {"PipelineArn": PIPELINE_ARN}, {**PIPELINE, "Tags": TAGS}
    )
    start(aws)
    assert run.main([]) == 0
    assert f"started {PIPELINE_ARN}/execution/abc123" in capsys.readouterr().out
    # The build-account role may not touch the registry: only the pipeline's Register step does.
    assert aws.operations == [
        "GetCallerIdentity",
        *["PutObject"] * len(run.SCRIPTS),
        "CreatePipeline",
        "StartPipelineExecution",
    ]


@pytest.mark.usefixtures("contract_environment")
def test_a_pushed_change_updates_the_existing_pipeline_and_keeps_its_tags(aws: Stubs) -> None:
    """The calls the module's build-account role allows: Update, ListTags and AddTags on this pipeline."""
    identity(aws, "mlops-dev-model-build-access")
    uploads(aws)
    aws["sagemaker"].add_client_error(
        "create_pipeline",
        service_error_code="ResourceInUse",
        service_message=f"Pipeline with name ({CONTRACT['SAGEMAKER_PIPELINE_NAME']}) already exists.",
        expected_params={**PIPELINE, "Tags": TAGS},
    )
    aws["sagemaker"].add_response("update_pipeline", {"PipelineArn": PIPELINE_ARN}, PIPELINE)
    aws["sagemaker"].add_response(
        "list_tags", {"Tags": [{"Key": "owner", "Value": "ml-team"}]}, {"ResourceArn": PIPELINE_ARN}
    )
    aws["sagemaker"].add_response(
        "add_tags", {}, {"ResourceArn": PIPELINE_ARN, "Tags": [*TAGS, {"Key": "owner", "Value": "ml-team"}]}
    )
    start(aws)
    assert run.main([]) == 0


@pytest.mark.usefixtures("contract_environment")
def test_refuses_to_run_as_anyone_but_the_build_account_role(
    aws: Stubs, capsys: pytest.CaptureFixture[str]
) -> None:
    identity(aws, "codebuild-project-role")
    assert run.main([]) == 1
    assert "not as ASSUME_ROLE_ARN" in capsys.readouterr().err
