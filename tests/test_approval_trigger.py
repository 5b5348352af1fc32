"""Tests for the approval trigger Lambda, invoked exactly as Lambda does: handler(event, context).

The handler is loaded from a file path, so every test runs twice: against the source and against the
synthesized asset copy Lambda runs.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.codepipeline.models import PipelineExecution

from tests.conftest import Synth
from tests.lambda_harness import (  # noqa: F401 - the fixtures "aws" and "aws_env"
    ACCOUNT,
    EXPECTED_VALUE,
    GROUP,
    IMAGE,
    INITIAL_VALUE,
    MODEL_DATA,
    PACKAGE_ARN,
    PARAMETER,
    PIPELINE,
    REGION,
    SOURCE_HANDLER,
    FakeContext,
    fake_aws_environment,
    load_handler,
    model_package_event,
    moto_account,
    sns_event,
    without,
)


def packaged_handler(synth: Synth) -> Path:
    """The handler in the asset the synth packaged: the copy Lambda runs."""
    stack = synth.stack("prod-deployment-group/ModelDeploy")
    assert stack.assets_file is not None
    files: dict[str, dict[str, dict[str, str]]] = json.loads(stack.assets_file.read_text())["files"]
    candidates = [stack.assets_file.parent / asset["source"]["path"] / "index.py" for asset in files.values()]
    handlers = [p for p in candidates if p.is_file() and "DEPLOY_PIPELINE_NAME" in p.read_text()]
    assert len(handlers) == 1, handlers
    return handlers[0]


@pytest.fixture
def handler_path(request: pytest.FixtureRequest) -> Path:
    """The handler file under test: the source, or (``asset``, where a test asks) the packaged copy."""
    if getattr(request, "param", "source") == "source":
        return SOURCE_HANDLER
    return packaged_handler(request.getfixturevalue("approved_synth"))


def test_the_packaged_asset_is_the_source(approved_synth: Synth) -> None:
    """Every file of the packaged function is its source byte for byte, so what the source's tests prove
    holds for the copy Lambda runs; the first test below also runs from the copy itself."""
    packaged = packaged_handler(approved_synth).parent
    source = SOURCE_HANDLER.parent
    names = sorted(p.relative_to(packaged).as_posix() for p in packaged.rglob("*") if p.is_file())
    assert names == sorted(
        p.relative_to(source).as_posix()
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    for name in names:
        assert (packaged / name).read_bytes() == (source / name).read_bytes(), name


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


@pytest.mark.parametrize("handler_path", ["source", "asset"], indirect=True)
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
