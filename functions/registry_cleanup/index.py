"""CloudFormation custom resource: empty a dev group's model registry so CloudFormation can delete it.

SageMaker refuses to delete a model package group that still holds versions, so a dev build-support
stack could never be destroyed. Removal is explicit, never inferred: versions are deleted only on a
Delete whose ``DeleteVersionsWithStack`` property is ``"true"`` (dev build accounts) *and* whose stack is
itself being deleted. CloudFormation also sends Delete when a resource merely leaves the template or is
replaced, and a group whose environment turned from dev to preprod must keep every version. Success is
reported once SageMaker lists no version any more; CloudFormation then deletes the empty group.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from functools import cache
from typing import Any

import boto3

LOGGER = logging.getLogger()
LOGGER.setLevel(logging.INFO)


POLL_SECONDS = 5
# Stop waiting this long before Lambda's own timeout, so CloudFormation always gets an answer.
MARGIN_MILLIS = 20_000


@cache
def _sagemaker() -> Any:
    return boto3.client("sagemaker")


@cache
def _cloudformation() -> Any:
    return boto3.client("cloudformation")


def versions(group: str) -> list[str]:
    """The ARNs of every model package version of ``group`` SageMaker still lists."""
    arns: list[str] = []
    for page in _sagemaker().get_paginator("list_model_packages").paginate(ModelPackageGroupName=group):
        arns.extend(summary["ModelPackageArn"] for summary in page["ModelPackageSummaryList"])
    return arns


def stack_status(stack_id: str) -> str:
    """The status of the stack this resource belongs to (by id, which stays valid while it deletes)."""
    (stack,) = _cloudformation().describe_stacks(StackName=stack_id)["Stacks"]
    return str(stack["StackStatus"])


def delete_versions(group: str, context: Any) -> int:
    """Delete every version of ``group`` and wait until SageMaker lists none; return how many there were."""
    deadline = time.monotonic() + (context.get_remaining_time_in_millis() - MARGIN_MILLIS) / 1000
    arns = versions(group)
    for arn in arns:
        _sagemaker().delete_model_package(ModelPackageName=arn)
    while remaining := versions(group):
        if time.monotonic() + POLL_SECONDS > deadline:
            raise TimeoutError(f"{len(remaining)} versions of {group} were still being deleted")
        time.sleep(POLL_SECONDS)
    return len(arns)


def _delete_reason(event: dict[str, Any]) -> str | None:
    """Why this Delete must not touch the registry, or None when it must empty it."""
    if event["ResourceProperties"].get("DeleteVersionsWithStack") != "true":
        return "this environment keeps its model versions"
    status = stack_status(event["StackId"])
    if status != "DELETE_IN_PROGRESS":
        return f"the stack is not being deleted ({status}): the resource left the template or was replaced"
    return None


def _respond(event: dict[str, Any], context: Any, status: str, reason: str) -> None:
    """Tell CloudFormation the outcome through the pre-signed URL it gave, as custom resources must."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": f"{reason} (log stream {getattr(context, 'log_stream_name', '?')})",
            "PhysicalResourceId": event.get("PhysicalResourceId") or event["LogicalResourceId"],
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        LOGGER.info("CloudFormation answered %s", response.status)


def handler(event: dict[str, Any], context: Any) -> None:
    """Lambda entry point, called as ``handler(event, context)``; always answers CloudFormation."""
    status, reason = "SUCCESS", "nothing to do"
    try:
        if event["RequestType"] == "Delete":
            group = event["ResourceProperties"]["ModelPackageGroupName"]
            kept = _delete_reason(event)
            if kept is None:
                deleted = delete_versions(group, context)
                reason = f"deleted {deleted} model package versions of {group}"
            else:
                reason = f"kept every version of {group}: {kept}"
            LOGGER.info(reason)
    except Exception as error:
        LOGGER.exception("Registry cleanup failed")
        status, reason = "FAILED", f"{type(error).__name__}: {error}"
    _respond(event, context, status, reason)
