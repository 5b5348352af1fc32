"""CloudFormation templates as deployed: intrinsic functions resolved by cloud-radar, with physical names.

cloud-radar renders a template locally (parameters, conditions, ``Ref``, ``Fn::GetAtt``, ``Fn::Join``,
``Fn::Sub``, pseudo parameters). What it cannot know is what CloudFormation would return for a resource's
``Ref`` and attributes; it reads those from each resource's ``Metadata.Cloud-Radar``, which is filled here
from the resource's own (rendered) name properties, so a policy naming ``{"Fn::GetAtt": [Bucket, Arn]}``
renders to the bucket's real ARN. Resources without a name get one shaped like CloudFormation's
generated names (stack, logical id), which no policy outside their stack can know either.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cloud_radar.cf.unit import Template  # type: ignore[import-untyped]

# Only these resource types carry policies or names that policies refer to; the rest are kept as bare
# stubs (type and condition) so references still resolve and rendering stays fast.
POLICY_TYPES = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::RolePolicy",
        "AWS::IAM::ManagedPolicy",
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
        "AWS::SNS::Topic",
        "AWS::SNS::TopicPolicy",
        "AWS::SNS::Subscription",
        "AWS::SQS::Queue",
        "AWS::SQS::QueuePolicy",
        "AWS::Lambda::Function",
        "AWS::Lambda::Permission",
        "AWS::ECR::Repository",
        "AWS::SageMaker::ModelPackageGroup",
        "AWS::Events::Rule",
        "AWS::Events::EventBusPolicy",
        "AWS::CodePipeline::Pipeline",
    }
)


@dataclass(frozen=True)
class Placement:
    """Where a template is deployed, which its pseudo parameters and generated names depend on."""

    stack_name: str
    account: str
    region: str
    partition: str = "aws"


def _generated(placement: Placement, logical_id: str, limit: int, *, lowercase: bool = False) -> str:
    """``<stack>-<logical id>-<suffix>``, shortened from the stack name's end, like CloudFormation's."""
    digest = hashlib.sha256(f"{placement.account}/{placement.stack_name}/{logical_id}".encode()).hexdigest()
    tail = f"{logical_id}-{digest[:8]}"
    name = f"{placement.stack_name[: max(limit - len(tail) - 1, 1)]}-{tail}"[:limit]
    return name.lower() if lowercase else name


def _key_id(placement: Placement, logical_id: str) -> str:
    digest = hashlib.sha256(f"{placement.account}/{placement.stack_name}/{logical_id}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _physical(  # noqa: PLR0911 (one return per resource type)
    kind: str, logical_id: str, props: Mapping[str, Any], where: Placement
) -> tuple[str, dict[str, str]] | None:
    """``(Ref, attributes)`` as CloudFormation returns them for one resource."""
    p, r, a = where.partition, where.region, where.account
    named: Callable[[str, int], str] = lambda prop, limit: str(  # noqa: E731
        props.get(prop) or _generated(where, logical_id, limit)
    )
    if kind == "AWS::S3::Bucket":
        name = str(props.get("BucketName") or _generated(where, logical_id, 63, lowercase=True))
        return name, {"Arn": f"arn:{p}:s3:::{name}"}
    if kind == "AWS::KMS::Key":
        key = _key_id(where, logical_id)
        return key, {"Arn": f"arn:{p}:kms:{r}:{a}:key/{key}", "KeyId": key}
    if kind == "AWS::SNS::Topic":
        name = named("TopicName", 256)
        arn = f"arn:{p}:sns:{r}:{a}:{name}"
        return arn, {"TopicArn": arn, "TopicName": name}
    if kind == "AWS::SQS::Queue":
        name = named("QueueName", 80)
        url = f"https://sqs.{r}.amazonaws.com/{a}/{name}"
        return url, {"Arn": f"arn:{p}:sqs:{r}:{a}:{name}", "QueueName": name, "QueueUrl": url}
    if kind == "AWS::IAM::Role":
        name = named("RoleName", 64)
        return name, {"Arn": f"arn:{p}:iam::{a}:role{props.get('Path', '/')}{name}", "RoleId": f"AROA{name}"}
    if kind == "AWS::IAM::ManagedPolicy":
        arn = f"arn:{p}:iam::{a}:policy{props.get('Path', '/')}{named('ManagedPolicyName', 128)}"
        return arn, {"PolicyArn": arn}
    if kind == "AWS::Lambda::Function":
        name = named("FunctionName", 64)
        return name, {"Arn": f"arn:{p}:lambda:{r}:{a}:function:{name}"}
    if kind == "AWS::ECR::Repository":
        name = str(props.get("RepositoryName") or _generated(where, logical_id, 256, lowercase=True))
        return name, {
            "Arn": f"arn:{p}:ecr:{r}:{a}:repository/{name}",
            "RepositoryUri": f"{a}.dkr.ecr.{r}.amazonaws.com/{name}",
        }
    if kind == "AWS::SageMaker::ModelPackageGroup":
        arn = f"arn:{p}:sagemaker:{r}:{a}:model-package-group/{named('ModelPackageGroupName', 63).lower()}"
        return arn, {"ModelPackageGroupArn": arn}
    if kind == "AWS::Events::Rule":
        name = named("Name", 64)
        return name, {"Arn": f"arn:{p}:events:{r}:{a}:rule/{name}"}
    if kind == "AWS::CodePipeline::Pipeline":
        return named("Name", 100), {}
    return None


# The properties ``_physical`` reads: all the first pass renders.
NAME_PROPERTIES = frozenset(
    {
        "BucketName",
        "TopicName",
        "QueueName",
        "RoleName",
        "Path",
        "ManagedPolicyName",
        "FunctionName",
        "RepositoryName",
        "ModelPackageGroupName",
        "Name",
    }
)


# Types whose other properties (a pipeline's stages, a function's environment) no policy reads.
NAMED_TYPES = {
    "AWS::CodePipeline::Pipeline": NAME_PROPERTIES | {"Tags"},
    "AWS::Lambda::Function": NAME_PROPERTIES,
    "AWS::S3::Bucket": NAME_PROPERTIES | {"Tags"},
    "AWS::SNS::Topic": NAME_PROPERTIES | {"KmsMasterKeyId", "Tags"},
    "AWS::SQS::Queue": NAME_PROPERTIES | {"KmsMasterKeyId"},
}


def _stripped(
    template: Mapping[str, Any], types: frozenset[str], *, names_only: bool = False
) -> dict[str, Any]:
    """The template's policy-bearing resources whole, the others as stubs; no outputs, rules or metadata.

    ``names_only``: just the name properties, for the first pass (cloud-radar's pure-Python YAML round
    trip makes rendering cost grow with the template's size).
    """
    # Plain JSON types: cloud-radar's YAML round trip cannot rebuild cfn-flip's ordered dicts.
    template = json.loads(json.dumps(template))
    resources: dict[str, Any] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        kept = {k: v for k, v in resource.items() if k in {"Type", "Condition"}}
        if resource["Type"] in types:
            properties = resource.get("Properties", {})
            wanted = NAME_PROPERTIES if names_only else NAMED_TYPES.get(resource["Type"])
            if wanted is not None:
                properties = {k: v for k, v in properties.items() if k in wanted}
            kept["Properties"] = properties
        resources[logical_id] = kept
    kept_sections = {"Parameters", "Conditions", "Mappings", "Transform"}
    return {key: value for key, value in template.items() if key in kept_sections} | {"Resources": resources}


def _ssm_parameters(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """SSM-typed parameters (the CDK bootstrap version, VPC ids): a placeholder value unless given."""
    values: dict[str, str] = {}
    for name, parameter in template.get("Parameters", {}).items():
        if str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value<"):
            values[str(parameter.get("Default", name))] = overrides.get(name, f"resolved-{name}")
    return values


def _render(template: dict[str, Any], where: Placement, parameters: Mapping[str, str]) -> dict[str, Any]:
    # cloud-radar prints every template it loads; nobody reads that.
    with contextlib.redirect_stdout(io.StringIO()):
        renderer = Template(template, dynamic_references={"ssm": _ssm_parameters(template, parameters)})
    renderer.NoValue = NO_VALUE
    renderer.AccountId = where.account
    renderer.Partition = where.partition
    renderer.StackName = where.stack_name
    # AWS::StackId: the stack's ARN, ending in an id CloudFormation picks (cloud-radar's render leaves it
    # empty); a fixed one keeps the world deterministic.
    renderer.StackId = (
        f"arn:{where.partition}:cloudformation:{where.region}:{where.account}:stack/{where.stack_name}/"
        "00000000-0000-4000-8000-000000000000"
    )
    plain = {k: v for k, v in parameters.items() if k in template.get("Parameters", {})}
    rendered: dict[str, Any] = _without_no_value(renderer.render(params=plain or None, region=where.region))
    return rendered


# cloud-radar drops properties whose value is AWS::NoValue but keeps list items, as an empty string
# unless told otherwise; CloudFormation drops both (the bootstrap's conditional trust statements).
NO_VALUE = "<AWS::NoValue>"


def _without_no_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_no_value(v) for k, v in value.items() if v != NO_VALUE}
    if isinstance(value, list):
        return [_without_no_value(v) for v in value if v != NO_VALUE]
    return value


def render(
    template: Mapping[str, Any],
    where: Placement,
    parameters: Mapping[str, str] | None = None,
    *,
    types: frozenset[str] = POLICY_TYPES,
) -> dict[str, Any]:
    """``template`` with every intrinsic function resolved as CloudFormation would in ``where``.

    Twice through cloud-radar: first for the resources' own name properties, then with each resource's
    ``Ref`` and attributes set from those names. Only resources of ``types`` keep their properties.
    """
    stripped = _stripped(template, types)
    first = _render(_stripped(template, types, names_only=True), where, parameters or {})
    for logical_id, resource in stripped["Resources"].items():
        rendered = first["Resources"].get(logical_id)
        if rendered is None:  # removed by a condition
            continue
        physical = _physical(resource["Type"], logical_id, rendered.get("Properties", {}), where)
        if physical is not None:
            ref, attributes = physical
            resource["Metadata"] = {"Cloud-Radar": {"ref": ref, "attribute-values": attributes}}
    return _render(stripped, where, parameters or {})
