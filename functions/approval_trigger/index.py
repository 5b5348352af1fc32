"""Start the deploy pipeline when a model package of this module's group is approved.

SageMaker emits "SageMaker Model Package State Change" events to EventBridge; they reach this
function wrapped in SNS records. The deploy pipeline does not read the model registry itself: it
deploys whatever this function last recorded in the SSM parameter, so that every stage of one
execution deploys the same, explicitly approved artefact.

Anything that is not an approval for our group is logged and skipped rather than raised, because
an exception would only make Lambda retry a message that can never succeed. Failures of the SSM or
CodePipeline calls do raise, so that the asynchronous invocation is retried.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import boto3

if TYPE_CHECKING:
    from mypy_boto3_ssm.client import SSMClient

logger = logging.getLogger(__name__)
# The Lambda root logger defaults to WARNING; the ignore/start lines are INFO and are the audit
# trail, so show them unless the function's log-level setting asks for less.
_level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO").upper().replace("TRACE", "DEBUG")
logger.setLevel(_level if _level in logging.getLevelNamesMapping() else logging.INFO)

DETAIL_TYPE = "SageMaker Model Package State Change"
EVENT_SOURCE = "aws.sagemaker"
APPROVED = "Approved"


class _PipelineClient(Protocol):
    """The one CodePipeline call used here (boto3-stubs has no codepipeline types installed)."""

    def start_pipeline_execution(self, *, name: str) -> Mapping[str, object]:
        """Start an execution of pipeline `name`."""


class Ignored(Exception):  # noqa: N818 - it is an outcome, not an error
    """A record that must not trigger a deployment; the message is the reason that gets logged."""


class ApprovedModel(NamedTuple):
    """What the deploy pipeline needs to deploy one approved model package."""

    model_package_arn: str
    model_data_url: str
    image_uri: str

    def parameter_value(self) -> str:
        """Serialise canonically, so equal approvals always produce an identical parameter value."""
        return json.dumps(
            {
                "imageUri": self.image_uri,
                "modelDataUrl": self.model_data_url,
                "modelPackageArn": self.model_package_arn,
            },
            sort_keys=True,
            separators=(",", ":"),
        )


@functools.cache
def _ssm() -> SSMClient:
    """Create the client on first use (not at import) so the runtime's region and test mocks apply."""
    return boto3.client("ssm")


@functools.cache
def _codepipeline() -> _PipelineClient:
    """Create the client on first use (not at import) so the runtime's region and test mocks apply."""
    client: _PipelineClient = boto3.client("codepipeline")
    return client


def _object(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise Ignored(f"{where}.{key} is missing or not an object")
    return value


def _string(parent: Mapping[str, Any], key: str, where: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise Ignored(f"{where}.{key} is missing or not a non-empty string")
    return value


def parse_record(record: object, group: str) -> ApprovedModel:
    """Extract the approved model from one SNS record, or raise `Ignored` saying why not."""
    if not isinstance(record, dict) or record.get("EventSource") != "aws:sns":
        raise Ignored("not an SNS record")
    sns = record.get("Sns")
    message = sns.get("Message") if isinstance(sns, dict) else None
    if not isinstance(message, str):
        raise Ignored("SNS record has no Message string")
    try:
        event = json.loads(message)
    except json.JSONDecodeError as exc:
        raise Ignored(f"SNS Message is not valid JSON ({exc.msg})") from None
    if not isinstance(event, dict):
        raise Ignored("SNS Message is not a JSON object")
    if event.get("source") != EVENT_SOURCE or event.get("detail-type") != DETAIL_TYPE:
        raise Ignored(
            f"not a model package state change (source={event.get('source')!r}, "
            f"detail-type={event.get('detail-type')!r})"
        )
    detail = _object(event, "detail", "event")
    if (found_group := detail.get("ModelPackageGroupName")) != group:
        raise Ignored(f"model package group {found_group!r} is not {group!r}")
    if (status := detail.get("ModelApprovalStatus")) != APPROVED:
        raise Ignored(f"approval status is {status!r}, not {APPROVED!r}")
    arn = _string(detail, "ModelPackageArn", "detail")
    spec = _object(detail, "InferenceSpecification", "detail")
    containers = spec.get("Containers")
    # The deploy pipeline models a single-container endpoint; an inference pipeline cannot be
    # expressed as one image and one artefact, so it is refused rather than half-deployed.
    if not isinstance(containers, list) or len(containers) != 1 or not isinstance(containers[0], dict):
        raise Ignored("detail.InferenceSpecification.Containers is not exactly one container object")
    where = "detail.InferenceSpecification.Containers[0]"
    return ApprovedModel(
        model_package_arn=arn,
        model_data_url=_string(containers[0], "ModelDataUrl", where),
        image_uri=_string(containers[0], "Image", where),
    )


def handler(event: object, context: object) -> dict[str, Any]:
    """Record each approved model in SSM, then start the deploy pipeline once per approval.

    Returns {"started": [execution ids], "ignored": number of records (or whole non-SNS events)
    skipped}. The parameter is written before the start so the execution reads the new model.
    """
    parameter = os.environ["APPROVED_MODEL_PARAMETER"]
    pipeline = os.environ["DEPLOY_PIPELINE_NAME"]
    group = os.environ["MODEL_PACKAGE_GROUP_NAME"]

    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        logger.warning("Ignoring event: it has no Records list, so it did not come from SNS")
        return {"started": [], "ignored": 1}
    if not records:
        logger.info("Ignoring event: its Records list is empty")

    started: list[str] = []
    ignored = 0
    for index, record in enumerate(records):
        try:
            model = parse_record(record, group)
        except Ignored as reason:
            logger.info("Ignoring record %d: %s", index, reason)
            ignored += 1
            continue
        _ssm().put_parameter(Name=parameter, Value=model.parameter_value(), Type="String", Overwrite=True)
        execution_id = str(_codepipeline().start_pipeline_execution(name=pipeline)["pipelineExecutionId"])
        logger.info(
            "Recorded %s in %s and started %s execution %s",
            model.model_package_arn,
            parameter,
            pipeline,
            execution_id,
        )
        started.append(execution_id)
    return {"started": started, "ignored": ignored}
