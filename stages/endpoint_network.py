"""Deploy accounts: the subnets and security group an endpoint joins, read at synth from the target's SSM."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import aws_ssm as ssm
from constructs import Construct

from settings import SettingsError
from settings.errors import echo_value

# What CDK returns for a context lookup it has not made yet; the CLI then looks it up and synthesizes again.
PENDING_LOOKUP_PREFIX = "dummy-value-for-"
MAX_ENDPOINT_SUBNETS = 16  # VpcConfig.Subnets: 1 to 16 items (SageMaker API Reference, VpcConfig)
_SUBNET_ID = re.compile(r"subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})", re.ASCII)
_SECURITY_GROUP_ID = re.compile(r"sg-(?:[0-9a-f]{8}|[0-9a-f]{17})", re.ASCII)


@dataclass(frozen=True)
class EndpointNetwork:
    """The subnets and security group an endpoint joins, as the environment's SSM parameters hold them."""

    subnets: tuple[str, ...]
    security_group: str


PENDING_NETWORK = EndpointNetwork(subnets=("subnet-00000000",), security_group="sg-00000000")


def endpoint_network(
    scope: Construct, *, subnets_parameter: str, security_group_parameter: str, where: str
) -> EndpointNetwork:
    """Read at synth through the target account's CDK lookup role, never at deploy time.

    An ``AWS::SSM::Parameter::Value`` template parameter is resolved with the caller's permissions, and the
    caller is the target account's CDK deploy role, which may read only the bootstrap version parameter
    (CloudFormation User Guide, "SSM parameter types"; the bootstrap template's DeploymentActionRole).
    A context lookup assumes the lookup role (ReadOnlyAccess) instead, and the deploy pipeline's synth
    never reuses a cached value, so a changed parameter changes the next run's template.
    """
    subnets_value = ssm.StringParameter.value_from_lookup(scope, subnets_parameter)
    security_group = ssm.StringParameter.value_from_lookup(scope, security_group_parameter)
    if subnets_value.startswith(PENDING_LOOKUP_PREFIX) or security_group.startswith(PENDING_LOOKUP_PREFIX):
        # Ids of the right shape until the CLI has the values, so validation in this pass stays quiet.
        return PENDING_NETWORK
    subnets = tuple(part.strip() for part in subnets_value.split(","))
    problems = []
    if not subnets or not all(_SUBNET_ID.fullmatch(subnet) for subnet in subnets):
        problems.append(
            f"{where}: the SSM parameter {subnets_parameter} must hold subnet ids separated by commas "
            f"(a StringList such as subnet-0abc1234,subnet-0def5678), got {echo_value(subnets_value)}"
        )
    if not _SECURITY_GROUP_ID.fullmatch(security_group):
        problems.append(
            f"{where}: the SSM parameter {security_group_parameter} must hold one security group id "
            f"such as sg-0abc1234, got {echo_value(security_group)}"
        )
    if len(subnets) > MAX_ENDPOINT_SUBNETS:
        problems.append(
            f"{where}: the SSM parameter {subnets_parameter} holds {len(subnets)} subnets; "
            f"SageMaker takes at most {MAX_ENDPOINT_SUBNETS}"
        )
    if problems:
        raise SettingsError(problems)
    return EndpointNetwork(subnets=tuple(sorted(set(subnets))), security_group=security_group)
