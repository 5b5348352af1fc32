"""CloudFormation custom resource: empty a dev group's model registry so CloudFormation can delete it.

SageMaker refuses to delete a model package group that still holds versions, so a dev build-support
stack could never be destroyed. On Delete this removes every version of the group; CloudFormation then
deletes the (now empty) group itself. Create and Update do nothing. Preprod and prod registries are
retained and never get this resource.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from functools import cache
from typing import Any

import boto3

LOGGER = logging.getLogger()
LOGGER.setLevel(logging.INFO)


@cache
def _sagemaker() -> Any:
    return boto3.client("sagemaker")


def delete_versions(group: str) -> int:
    """Delete every model package version of ``group``; return how many were deleted."""
    client = _sagemaker()
    arns: list[str] = []
    for page in client.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group):
        arns.extend(summary["ModelPackageArn"] for summary in page["ModelPackageSummaryList"])
    for arn in arns:
        client.delete_model_package(ModelPackageName=arn)
    return len(arns)


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
            deleted = delete_versions(group)
            reason = f"deleted {deleted} model package versions of {group}"
            LOGGER.info(reason)
    except Exception as error:
        LOGGER.exception("Registry cleanup failed")
        status, reason = "FAILED", f"{type(error).__name__}: {error}"
    _respond(event, context, status, reason)
