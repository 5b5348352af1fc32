"""An endpoint's network (stages/endpoint_network.py): subnets and security group looked up at synth through
the target account's lookup role, checked, and the only place its interfaces may go."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from settings import SettingsError
from stages.endpoint import EndpointStack
from tests.conftest import endpoint_network_ids
from tests.endpoint_harness import (
    BUILD_ACCOUNT,
    CASES,
    CONTEXT,
    EXECUTION_ROLE,
    GOVERNANCE,
    NAMES,
    PROD,
    PROD_ACCOUNT,
    REGION,
    Synthesized,
    approved,
    execution_role_statements,
    lookup_key,
)


@pytest.fixture(scope="module")
def synth(endpoint_synth: Synthesized) -> Synthesized:
    """The harness's endpoint stacks, synthesized once for the session."""
    return endpoint_synth


def _parameters(synth: Synthesized, case: str) -> dict[str, dict[str, Any]]:
    return {
        name: p
        for name, p in synth.templates[case].get("Parameters", {}).items()
        if name != "BootstrapVersion"
    }


def test_vpc_values_are_looked_up_at_synth_not_resolved_at_deploy_time(synth: Synthesized) -> None:
    # The deploy role cannot read SSM parameters: no AWS::SSM::Parameter::Value parameter may remain.
    assert all(_parameters(synth, case) == {} for case in CASES)
    for case, account in (("Prod", PROD_ACCOUNT), ("Build", BUILD_ACCOUNT)):
        subnets, security_group = endpoint_network_ids(account)
        assert synth.one(case, "AWS::SageMaker::Model")["VpcConfig"] == {
            "SecurityGroupIds": [security_group],
            "Subnets": subnets,
        }


def prod_endpoint(app: cdk.App) -> EndpointStack:
    """The prod case's stack alone, in ``app`` (whose context holds the lookups, or not)."""
    return EndpointStack(
        app,
        "Prod",
        env=cdk.Environment(account=PROD_ACCOUNT, region=REGION),
        governance=GOVERNANCE,
        names=NAMES,
        environment=PROD,
        network_parameters=PROD.endpoint.network_parameters("mlops"),
        approved_model=approved(3),
        stack_name="endpoint-prod",
    )


def test_vpc_lookups_go_through_the_target_accounts_lookup_role(tmp_path: Path) -> None:
    """Without cached values CDK asks the CLI for them, naming the endpoint account's role to assume."""
    app = cdk.App(context=CONTEXT, outdir=str(tmp_path))
    prod_endpoint(app)
    app.synth()
    missing = json.loads((tmp_path / "manifest.json").read_text())["missing"]
    role = (
        f"arn:${{AWS::Partition}}:iam::{PROD_ACCOUNT}:role/cdk-hnb659fds-lookup-role-{PROD_ACCOUNT}-{REGION}"
    )
    assert sorted(entry["key"] for entry in missing) == sorted(
        lookup_key(PROD_ACCOUNT, name) for name in ("/mlops/vpc/subnets/private/ids", "/mlops/vpc/sg/id")
    )
    assert {entry["props"]["lookupRoleArn"] for entry in missing} == {role}


@pytest.mark.parametrize(
    ("subnets", "security_group", "expected"),
    [
        (
            "subnet-0abc1234,vpc-0abc1234",
            "sg-0abc1234",
            "/mlops/vpc/subnets/private/ids must hold subnet ids",
        ),
        ("", "sg-0abc1234", "/mlops/vpc/subnets/private/ids must hold subnet ids"),
        ("subnet-0abc1234", "sg-0abc1234,sg-0def5678", "/mlops/vpc/sg/id must hold one security group id"),
        (
            ",".join(f"subnet-0abc{n:04}" for n in range(17)),
            "sg-0abc1234",
            "holds 17 subnets; SageMaker takes at most 16",
        ),
    ],
)
def test_looked_up_vpc_values_that_cannot_work_are_one_line_each(
    tmp_path: Path, subnets: str, security_group: str, expected: str
) -> None:
    context = {
        lookup_key(PROD_ACCOUNT, "/mlops/vpc/subnets/private/ids"): subnets,
        lookup_key(PROD_ACCOUNT, "/mlops/vpc/sg/id"): security_group,
    }
    app = cdk.App(context={**CONTEXT, **context}, outdir=str(tmp_path))
    with pytest.raises(SettingsError) as raised:
        prod_endpoint(app)
    (problem,) = raised.value.problems
    assert problem.startswith("prod endpoint: the SSM parameter /mlops/vpc/")
    assert expected in problem


def test_no_vpc_when_turned_off(synth: Synthesized) -> None:
    assert "VpcConfig" not in synth.one("Gpu", "AWS::SageMaker::Model")
    assert _parameters(synth, "Gpu") == {}
    assert "ec2:" not in json.dumps(synth.one("Gpu", "AWS::IAM::Role", EXECUTION_ROLE))


def test_network_interfaces_only_in_the_environments_subnets_and_security_group(synth: Synthesized) -> None:
    create = execution_role_statements(synth, "Prod")["CreateEndpointNetworkInterfaces"]
    subnets, security_group = endpoint_network_ids(PROD_ACCOUNT)
    ec2 = f"arn:aws:ec2:{REGION}:{PROD_ACCOUNT}"
    assert create["Action"] == "ec2:CreateNetworkInterface"
    assert sorted(create["Resource"]) == sorted(
        [
            f"{ec2}:network-interface/*",
            *(f"{ec2}:subnet/{subnet}" for subnet in subnets),
            f"{ec2}:security-group/{security_group}",
        ]
    )
