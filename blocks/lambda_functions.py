"""The module's own Lambda functions: newest Python runtime, own role, own log group, nothing else."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from blocks import LOG_RETENTION, cdk_values
from blocks.governance import stack_of
from blocks.nag import acknowledge, logical_id_in_arn

# CloudFormation's inline-code (ZipFile) limit when these stacks were designed; CloudFormation has since
# lifted it (aws-cdk#20624), and it stays the budget for code that travels inside a template.
INLINE_CODE_LIMIT = 4096

FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"
"""The module's Lambda handlers, packaged as assets (or inlined) by the stacks that run them."""


@functools.cache
def python_runtime() -> lambda_.Runtime:
    """The newest Python runtime, read once: each read is a jsii round trip, and the object is immutable."""
    return lambda_.Runtime.PYTHON_3_14


def allow_own_logs(role: iam.Role, log_group: logs.LogGroup, stack: cdk.Stack) -> None:
    """A function's role writes to its own log group (in ``stack``), whose streams are named per instance."""
    arn = log_group.log_group_arn
    role.add_to_policy(
        iam.PolicyStatement(
            sid="WriteOwnLogs", actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[arn]
        )
    )
    acknowledge(
        role,
        {
            f"IAM5[Resource::<{logical_id_in_arn(stack, arn)}.Arn>]": (
                "This function's own log group; its streams are named per instance."
            )
        },
    )


def lambda_role(scope: Construct, construct_id: str, *, description: str) -> tuple[iam.Role, logs.LogGroup]:
    """A role for one function with only its log group, rather than the AWS-managed basic policy."""
    log_group = logs.LogGroup(scope, f"{construct_id}Logs", retention=LOG_RETENTION)
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=cdk_values.service_principal("lambda.amazonaws.com"),
        description=description,
    )
    allow_own_logs(role, log_group, stack_of(scope))
    return role, log_group


def inline_source(folder: str) -> str:
    """``functions/<folder>/index.py`` as template text, for stacks that publish no assets."""
    source = (FUNCTIONS / folder / "index.py").read_text(encoding="utf-8")
    if len(source) > INLINE_CODE_LIMIT:
        raise ValueError(
            f"functions/{folder}/index.py has {len(source)} characters; "
            f"inline function code may have at most {INLINE_CODE_LIMIT}"
        )
    return source


def module_function(
    scope: Construct,
    construct_id: str,
    *,
    folder: str,
    description: str,
    timeout: cdk.Duration,
    function_name: str | None = None,
    environment: Mapping[str, str] | None = None,
    inline: bool = False,
) -> tuple[lambda_.Function, iam.Role]:
    """``functions/<folder>/index.py`` as a function; the caller grants its role what it needs.

    ``inline`` puts the code into the template (CloudFormation's ``ZipFile``) instead of an asset.
    """
    role, log_group = lambda_role(scope, construct_id, description=description)
    code = (
        lambda_.Code.from_inline(inline_source(folder))
        if inline
        else lambda_.Code.from_asset(str(FUNCTIONS / folder), exclude=["__pycache__", "*.pyc"])
    )
    function = lambda_.Function(
        scope,
        construct_id,
        function_name=function_name,
        description=description,
        runtime=python_runtime(),
        handler="index.handler",
        code=code,
        role=role,
        log_group=log_group,
        timeout=timeout,
        environment=dict(environment or {}),
    )
    return function, role
