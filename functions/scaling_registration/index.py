"""The endpoint variant's auto scaling, across updates and rollbacks: stages/endpoint.py says how and why."""

import json
import logging
import urllib.request
from typing import Any

import boto3

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
AAS = boto3.client("application-autoscaling")
CFN = boto3.client("cloudformation")
NS, DIM = "sagemaker", "sagemaker:variant:DesiredInstanceCount"
Props = dict[str, Any]


def _stack_status(stack_id: str) -> str:
    return str(CFN.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"])


def _register(p: Props) -> str:
    rid = f"endpoint/{p['EndpointName']}/variant/{p['VariantName']}"
    key = {"ServiceNamespace": NS, "ResourceId": rid, "ScalableDimension": DIM}
    AAS.register_scalable_target(**key, MinCapacity=int(p["MinCapacity"]), MaxCapacity=int(p["MaxCapacity"]))
    try:
        AAS.put_scaling_policy(
            **key,
            PolicyName=p["PolicyName"],
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": float(p["TargetValue"]),
                "PredefinedMetricSpecification": {"PredefinedMetricType": p["MetricType"]},
            },
        )
    except Exception:
        _deregister(p)  # all or nothing: a rollback must not find half a registration
        raise
    return f"registered {rid}"


def _deregister(p: Props) -> str:
    """Every target of the endpoint (an older variant's too), policies included."""
    prefix = f"endpoint/{p['EndpointName']}/variant/"
    pages = AAS.get_paginator("describe_scalable_targets").paginate(ServiceNamespace=NS)
    ids = {t["ResourceId"] for page in pages for t in page["ScalableTargets"]}
    done = []
    for rid in sorted(i for i in ids if i.startswith(prefix)):
        try:
            AAS.deregister_scalable_target(ServiceNamespace=NS, ResourceId=rid, ScalableDimension=DIM)
            done.append(rid)
        except AAS.exceptions.ObjectNotFoundException:
            pass
    return f"deregistered {done}"


def _act(event: Props) -> str:
    kind, p, old = event["RequestType"], event["ResourceProperties"], event.get("OldResourceProperties", {})
    guard, scaled = event["ResourceType"] == "Custom::ScalingGuard", "MaxCapacity" in p
    moved = any(old.get(k) != p[k] for k in ("InstanceType", "VariantName"))
    status = "" if kind == "Create" else _stack_status(event["StackId"])
    if kind == "Delete":
        # After a successful update: a registration under another logical id owns the target now.
        step = None if guard or status == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" else _deregister
    elif status == "UPDATE_ROLLBACK_IN_PROGRESS":
        # The guard runs after the endpoint's rollback, the registration before it.
        step = _register if scaled and (guard or not moved) else _deregister
    elif guard:
        step = _deregister if kind == "Create" or ("MaxCapacity" in old and (moved or not scaled)) else None
    else:
        step = _register if scaled else _deregister
    return step(p) if step else "nothing to do"


def handler(event: Props, context: Any) -> None:
    """Lambda entry point: always answers CloudFormation, never raises."""
    status = "SUCCESS"
    try:
        reason = _act(event)
    except Exception as error:
        LOG.exception("Failed")
        status, reason = "FAILED", f"{type(error).__name__}: {error}"[:800]
    LOG.info("%s: %s", status, reason)
    body = {
        "Status": status,
        "Reason": f"{reason} (log stream {context.log_stream_name})",
        "PhysicalResourceId": event.get("PhysicalResourceId") or event["LogicalResourceId"],
        **{k: event[k] for k in ("StackId", "RequestId", "LogicalResourceId")},
    }
    put = urllib.request.Request(
        event["ResponseURL"], json.dumps(body).encode(), {"Content-Type": ""}, method="PUT"
    )
    try:
        with urllib.request.urlopen(put, timeout=30) as answer:
            LOG.info("CloudFormation answered %s", answer.status)
    except Exception:
        LOG.exception("Could not answer CloudFormation")
