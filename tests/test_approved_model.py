"""The approved model: read as the approval trigger records it, one clear line when it is wrong, and
checked in settings against the group it was approved in."""

from __future__ import annotations

import base64
import json
import re

import boto3
import pytest

from names import GroupNames
from settings import ApprovedModel, SettingsError, load_settings, parse_approved_model
from settings.approved_model import check_model_belongs_to_group
from tests.conftest import seedfarmer_environment
from tests.lambda_harness import IMAGE as TRIGGER_TEST_IMAGE
from tests.lambda_harness import (  # noqa: F401 - the fixtures "aws" and "aws_env"
    PARAMETER,
    PIPELINE,
    SOURCE_HANDLER,
    FakeContext,
    fake_aws_environment,
    load_handler,
    model_package_event,
    moto_account,
    sns_event,
)

REGION = "eu-west-1"
BUILD_ACCOUNT = "222222222222"
NAMES = GroupNames(prefix="mlops-demo-models-cicd-fraud", build_account=BUILD_ACCOUNT, build_region=REGION)
IMAGE_ACCOUNT = "141502667606"
IMAGE = f"{IMAGE_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def approved(version: int, names: GroupNames = NAMES) -> ApprovedModel:
    return ApprovedModel(
        model_package_arn=f"arn:aws:sagemaker:{REGION}:{BUILD_ACCOUNT}:model-package/{names.model_package_group}/{version}",
        model_data_url=f"s3://{names.artifacts_bucket}/models/run-{version}/model.tar.gz",
        image_uri=IMAGE,
    )


# --- the approved model --------------------------------------------------------------------------------

GOOD = approved(7)
GOOD_JSON = json.dumps(
    {
        "imageUri": GOOD.image_uri,
        "modelDataUrl": GOOD.model_data_url,
        "modelPackageArn": GOOD.model_package_arn,
    }
)


@pytest.mark.parametrize("raw", [None, "", "  ", "NONE", "NONE\n"])
def test_no_approved_model(raw: str | None) -> None:
    assert parse_approved_model(raw) is None


def test_approved_model_as_the_trigger_writes_it() -> None:
    assert parse_approved_model(GOOD_JSON) == GOOD
    assert parse_approved_model(base64.b64encode(GOOD_JSON.encode()).decode()) == GOOD
    assert GOOD.region == REGION
    assert GOOD.account == BUILD_ACCOUNT
    assert GOOD.model_package_group == NAMES.model_package_group


def _with(**changes: object) -> str:
    document: dict[str, object] = json.loads(GOOD_JSON)
    for key, value in changes.items():
        if value is None:
            del document[key]
        else:
            document[key] = value
    return json.dumps(document)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("{", "not valid JSON"),
        ("none", "neither valid JSON nor base64 of it"),
        ("bm9uZQ==", "not valid JSON"),  # base64 of 'none'
        ("[" * 2000 + "]" * 2000, "cannot be parsed (RecursionError: nested too deeply or too large)"),
        (
            base64.b64encode(("[" * 1500 + "]" * 1500).encode()).decode(),
            "cannot be parsed (RecursionError: nested too deeply or too large)",
        ),
        ("x" * 4097, "got 4097 characters, more than 4096"),
        (_with(imageUri="x" * 5000), "characters, more than 4096"),
        ("[]", "must be a JSON object, got list"),
        ('{"imageUri": "a", "imageUri": "b"}', "duplicate key 'imageUri'"),
        ('"arn:aws:sagemaker:eu-west-1:222222222222:model-package/g/1"', "must be a JSON object, got str"),
        (_with(modelDataUrl=None), "missing modelDataUrl"),
        (_with(extra="x"), "unknown key 'extra'"),
        (_with(imageUri=""), "imageUri must be a non-empty string"),
        (_with(modelPackageArn=3), "modelPackageArn must be a non-empty string, got 3"),
        (
            _with(modelPackageArn=f"arn:aws:sagemaker:{REGION}:{BUILD_ACCOUNT}:model-package-group/group"),
            "modelPackageArn must be a model package version ARN",
        ),
        (
            _with(modelPackageArn=f"arn:aws:sagemaker:{REGION}:1234:model-package/group/1"),
            "modelPackageArn must be a model package version ARN",
        ),
        (_with(modelDataUrl="/tmp/model.tar.gz"), "modelDataUrl must be an s3:// or https:// URL"),
        (_with(imageUri="an image"), "imageUri must be an Amazon ECR image URI"),
        (
            _with(imageUri=f"{IMAGE_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{'r' * 220}:1"),
            "imageUri must be an Amazon ECR image URI",
        ),
    ],
)
def test_bad_approved_model_is_one_clear_line(raw: str, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_approved_model(raw)
    (line,) = caught.value.problems
    assert line.startswith("APPROVED_MODEL_INFO: ")
    assert expected in line
    assert "\n" not in line
    assert len(line) < 400


def test_long_values_are_cut_short_in_messages() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_approved_model(_with(modelPackageArn="x" * 3000))
    assert "(3000 characters)" in caught.value.problems[0]
    assert len(caught.value.problems[0]) < 400


def _problems_of(model: ApprovedModel) -> list[str]:
    return check_model_belongs_to_group(model, NAMES)


def test_model_of_another_group_is_refused() -> None:
    stranger = ApprovedModel(
        model_package_arn=f"arn:aws:sagemaker:{REGION}:{BUILD_ACCOUNT}:model-package/someone-elses-models/1",
        model_data_url="s3://bucket/model.tar.gz",
        image_uri=IMAGE,
    )
    problem = _problems_of(stranger)[0]
    assert re.search(r"must be a version of .*model-package-group/mlops-demo-models-cicd-fraud", problem)


@pytest.mark.parametrize(
    ("model_data_url", "image_uri", "expected"),
    [
        (
            f"s3://{NAMES.artifacts_bucket}/training-data/train.csv",
            IMAGE,
            f"modelDataUrl must be under s3://{NAMES.artifacts_bucket}/models/",
        ),
        (
            f"s3://{NAMES.artifacts_bucket}-other/models/model.tar.gz",
            IMAGE,
            f"modelDataUrl must be under s3://{NAMES.artifacts_bucket}/models/",
        ),
        (
            approved(1).model_data_url,
            IMAGE.replace("eu-west-1", "us-east-1"),
            "imageUri must be in the endpoint's region eu-west-1",
        ),
    ],
)
def test_model_the_endpoint_could_not_load_is_refused_at_synth(
    model_data_url: str, image_uri: str, expected: str
) -> None:
    model = ApprovedModel(approved(1).model_package_arn, model_data_url, image_uri)
    (line,) = _problems_of(model)
    assert line.startswith("APPROVED_MODEL_INFO: ")
    assert expected in line


# --- from the trigger to settings ----------------------------------------------------------------------


def test_what_the_trigger_records_is_exactly_what_settings_read(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SSM record and the pipeline variable the trigger writes resolve to the version approved."""
    plan = load_settings(seedfarmer_environment()).groups[1]
    names = plan.names
    for variable, value in {
        "MODEL_PACKAGE_GROUP_NAME": names.model_package_group,
        "MODEL_PACKAGE_ACCOUNT": names.build_account,
        "MODEL_PACKAGE_REGION": names.build_region,
    }.items():
        monkeypatch.setenv(variable, value)
    arn = (
        f"arn:aws:sagemaker:{names.build_region}:{names.build_account}:"
        f"model-package/{names.model_package_group}/3"
    )
    event = model_package_event(group=names.model_package_group, arn=arn)
    event["account"], event["region"] = names.build_account, names.build_region
    (container,) = event["detail"]["InferenceSpecification"]["Containers"]
    container["ModelDataUrl"] = f"s3://{names.artifacts_bucket}/models/pipelines-abc/model.tar.gz"
    load_handler(SOURCE_HANDLER).handler(sns_event(event), FakeContext())

    recorded = boto3.client("ssm").get_parameter(Name=PARAMETER)["Parameter"]["Value"]
    pipelines = boto3.client("codepipeline")
    (summary,) = pipelines.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]
    execution = pipelines.get_pipeline_execution(
        pipelineName=PIPELINE, pipelineExecutionId=summary["pipelineExecutionId"]
    )["pipelineExecution"]
    (passed,) = [v["resolvedValue"] for v in execution["variables"] if v["name"] == "APPROVED_MODEL_INFO"]
    expected = ApprovedModel(arn, container["ModelDataUrl"], TRIGGER_TEST_IMAGE)
    for info in (recorded, passed):
        settings = load_settings(
            seedfarmer_environment(extra={"APPROVED_MODEL_INFO": info, "APPROVED_MODEL_GROUP": plan.name})
        )
        assert [group.approved_model for group in settings.groups] == [None, expected]
