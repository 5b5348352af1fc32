"""Start the deploy pipeline when a model package of this module's group is approved.

SageMaker emits "SageMaker Model Package State Change" events to EventBridge; they reach this
function wrapped in SNS records. Each approval starts one deploy pipeline execution carrying the
approved model as its pipeline variable, so an execution deploys the model it was started for even
when it waits in the queue behind others. The SSM parameter keeps the last approved model as a record.

Anything that is not an approval for our group (another account, region, partition or group, a
malformed or oversized message) is logged and skipped rather than raised, because an exception would
only make Lambda retry a message that can never succeed. So is an approval the pipeline already has
queued or running (SageMaker may emit one state change more than once), and one whose record CodePipeline
or SSM would refuse. Failures of the AWS calls do raise, so that Lambda retries the invocation and, after
its retries, hands the event to the on-failure destination.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import re
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
# The deploy pipeline's variable; its synth step reads it as APPROVED_MODEL_INFO.
PIPELINE_VARIABLE = "APPROVED_MODEL_INFO"
# SNS messages are at most 256 KiB; anything longer did not come from SNS and is not parsed.
MAX_MESSAGE_CHARACTERS = 256 * 1024
# CodePipeline: a pipeline variable's value is at most 1000 characters (API_PipelineVariable).
MAX_VARIABLE_CHARACTERS = 1000
# SSM: a standard-tier parameter's value is at most 4 KB.
MAX_PARAMETER_BYTES = 4096
_ECHO_LIMIT = 80
# Running or queued: the execution statuses have no value of their own for a queued execution, and
# InProgress is the only one that is neither finished nor being stopped.
_ACTIVE = "InProgress"
_MODEL_PACKAGE_ARN = re.compile(
    r"arn:(?P<partition>[^:]+):sagemaker:(?P<region>[^:]+):(?P<account>[^:]+):"
    r"model-package/(?P<group>[^/]+)/(?P<version>[1-9][0-9]*)",
    re.ASCII,
)


class _PipelineClient(Protocol):
    """The CodePipeline calls used here (boto3-stubs has no codepipeline types installed)."""

    def start_pipeline_execution(self, *, name: str, variables: list[Mapping[str, str]]) -> Mapping[str, Any]:
        """Start an execution of pipeline `name` with these pipeline variables."""

    def list_pipeline_executions(self, *, pipelineName: str, maxResults: int) -> Mapping[str, Any]:  # noqa: N803
        """The pipeline's most recent executions, newest first."""

    def get_pipeline_execution(self, *, pipelineName: str, pipelineExecutionId: str) -> Mapping[str, Any]:  # noqa: N803
        """One execution, with the variables it was started with."""


class Ignored(Exception):  # noqa: N818 - it is an outcome, not an error
    """A record that must not trigger a deployment; the message is the reason that gets logged."""


class Expected(NamedTuple):
    """Where this trigger's model packages live: anything else is refused."""

    partition: str
    account: str
    region: str
    group: str


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

    def variable_value(self) -> str:
        """Base64 of the record, which is safe to paste into JSON unescaped.

        CodePipeline substitutes variables into the synth action's JSON configuration as they are,
        so a double quote in the value would break the action's environment.
        """
        return base64.b64encode(self.parameter_value().encode()).decode("ascii")


@functools.cache
def _ssm() -> SSMClient:
    """Create the client on first use (not at import) so the runtime's region and test mocks apply."""
    return boto3.client("ssm")


@functools.cache
def _codepipeline() -> _PipelineClient:
    """Create the client on first use (not at import) so the runtime's region and test mocks apply."""
    client: _PipelineClient = boto3.client("codepipeline")
    return client


def _echo(value: object) -> str:
    """A value as it may appear in a log line: short, and never the repr of a whole (deep) structure."""
    if isinstance(value, dict | list):
        return f"a JSON {'object' if isinstance(value, dict) else 'array'}"
    text = repr(value[:_ECHO_LIMIT] if isinstance(value, str) else value)
    return (
        text
        if len(text) <= _ECHO_LIMIT and not (isinstance(value, str) and len(value) > _ECHO_LIMIT)
        else f"{text[:_ECHO_LIMIT]}..."
    )


def _log(level: int, outcome: str, **fields: object) -> None:
    """One structured (JSON) line per outcome, so the log can be queried by outcome and reason."""
    logger.log(level, json.dumps({"outcome": outcome, **fields}, sort_keys=True, default=str))


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


def _check_arn(arn: str, expected: Expected) -> None:
    """The package must be a version in this group's registry: our partition, account, region, group."""
    match = _MODEL_PACKAGE_ARN.fullmatch(arn)
    if not match:
        raise Ignored(f"detail.ModelPackageArn {_echo(arn)} is not a model package version ARN")
    # SageMaker lowercases the group name in model package ARNs.
    found = Expected(match["partition"], match["account"], match["region"], match["group"].lower())
    for field, want, got in zip(Expected._fields, expected, found, strict=True):
        if got != (want.lower() if field == "group" else want):
            raise Ignored(f"model package {field} {_echo(got)} is not {want!r} ({_echo(arn)})")


def _message(record: object) -> str:
    if not isinstance(record, dict) or record.get("EventSource") != "aws:sns":
        raise Ignored("not an SNS record")
    sns = record.get("Sns")
    message = sns.get("Message") if isinstance(sns, dict) else None
    if not isinstance(message, str):
        raise Ignored("SNS record has no Message string")
    if len(message) > MAX_MESSAGE_CHARACTERS:
        raise Ignored(
            f"SNS Message has {len(message)} characters, more than SNS delivers ({MAX_MESSAGE_CHARACTERS})"
        )
    return message


def parse_record(record: object, expected: Expected) -> ApprovedModel:
    """Extract the approved model from one SNS record, or raise `Ignored` saying why not."""
    message = _message(record)
    try:
        event = json.loads(message)
    except json.JSONDecodeError as exc:
        raise Ignored(f"SNS Message is not valid JSON ({exc.msg})") from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise Ignored(
            f"SNS Message cannot be parsed ({type(exc).__name__}: nested too deeply or too large)"
        ) from None
    if not isinstance(event, dict):
        raise Ignored("SNS Message is not a JSON object")
    if event.get("source") != EVENT_SOURCE or event.get("detail-type") != DETAIL_TYPE:
        raise Ignored(
            f"not a model package state change (source={_echo(event.get('source'))}, "
            f"detail-type={_echo(event.get('detail-type'))})"
        )
    detail = _object(event, "detail", "event")
    if (found_group := detail.get("ModelPackageGroupName")) != expected.group:
        raise Ignored(f"model package group {_echo(found_group)} is not {expected.group!r}")
    if (status := detail.get("ModelApprovalStatus")) != APPROVED:
        raise Ignored(f"approval status is {_echo(status)}, not {APPROVED!r}")
    arn = _string(detail, "ModelPackageArn", "detail")
    _check_arn(arn, expected)
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


def refusal(model: ApprovedModel) -> str | None:
    """Why CodePipeline or SSM would refuse this model's record, checked before anything is written."""
    variable = model.variable_value()
    if len(variable) > MAX_VARIABLE_CHARACTERS:
        return (
            f"the pipeline variable would be {len(variable)} characters; "
            f"CodePipeline allows {MAX_VARIABLE_CHARACTERS}"
        )
    if (size := len(model.parameter_value().encode())) > MAX_PARAMETER_BYTES:
        return f"the SSM record would be {size} bytes; a standard parameter holds {MAX_PARAMETER_BYTES}"
    return None


def pending_execution(pipeline: str) -> tuple[str, str | None] | None:
    """The newest execution that has not finished, and its model: the one the pipeline deploys last.

    In QUEUED mode executions run in order, so waiting and running ones are the newest; a first page
    of 100 holds the newest of them unless 100 are waiting.
    """
    client = _codepipeline()
    summaries = client.list_pipeline_executions(pipelineName=pipeline, maxResults=100)
    for summary in summaries.get("pipelineExecutionSummaries", []):
        if summary.get("status") != _ACTIVE:
            continue
        execution_id = str(summary["pipelineExecutionId"])
        execution = client.get_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution_id)
        variables = execution["pipelineExecution"].get("variables", [])
        values = {v.get("name"): v.get("resolvedValue") for v in variables}
        return execution_id, values.get(PIPELINE_VARIABLE)
    return None


def _deploy(model: ApprovedModel, index: int, parameter: str, pipeline: str) -> tuple[str, str]:
    """Start an execution for `model` unless the last queued or running one already deploys it."""
    variable = model.variable_value()
    pending = pending_execution(pipeline)
    if pending is not None and pending[1] == variable:
        _log(
            logging.INFO,
            "duplicate",
            record=index,
            modelPackageArn=model.model_package_arn,
            executionId=pending[0],
            reason="the newest queued or running execution already deploys this model",
        )
        return "duplicate", pending[0]
    _ssm().put_parameter(Name=parameter, Value=model.parameter_value(), Type="String", Overwrite=True)
    response = _codepipeline().start_pipeline_execution(
        name=pipeline, variables=[{"name": PIPELINE_VARIABLE, "value": variable}]
    )
    execution_id = str(response["pipelineExecutionId"])
    _log(
        logging.INFO,
        "started",
        record=index,
        modelPackageArn=model.model_package_arn,
        parameter=parameter,
        pipeline=pipeline,
        executionId=execution_id,
    )
    return "started", execution_id


def _expected() -> Expected:
    return Expected(
        partition=os.environ["MODEL_PACKAGE_PARTITION"],
        account=os.environ["MODEL_PACKAGE_ACCOUNT"],
        region=os.environ["MODEL_PACKAGE_REGION"],
        group=os.environ["MODEL_PACKAGE_GROUP_NAME"],
    )


def handler(event: object, context: object) -> dict[str, Any]:
    """Record each approved model in SSM and start the deploy pipeline for it, once per approval.

    Returns {"started": [execution ids], "duplicates": [execution ids already deploying the model],
    "ignored": records (or whole non-SNS events) skipped, "refused": approvals too large to record}.
    """
    parameter = os.environ["APPROVED_MODEL_PARAMETER"]
    pipeline = os.environ["DEPLOY_PIPELINE_NAME"]
    expected = _expected()
    result: dict[str, Any] = {"started": [], "duplicates": [], "ignored": 0, "refused": 0}

    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        _log(logging.WARNING, "ignored", reason="the event has no Records list, so it did not come from SNS")
        result["ignored"] = 1
        return result
    if not records:
        _log(logging.INFO, "ignored", reason="the event's Records list is empty")

    for index, record in enumerate(records):
        try:
            model = parse_record(record, expected)
        except Ignored as ignored:
            _log(logging.INFO, "ignored", record=index, reason=str(ignored))
            result["ignored"] += 1
            continue
        if (refused := refusal(model)) is not None:
            _log(
                logging.ERROR,
                "refused",
                record=index,
                modelPackageArn=_echo(model.model_package_arn),
                reason=refused,
            )
            result["refused"] += 1
            continue
        outcome, execution_id = _deploy(model, index, parameter, pipeline)
        result["started" if outcome == "started" else "duplicates"].append(execution_id)
    return result
