"""The guardrails as the endpoint stack wires them, in what test_endpoint and the snapshots do not show:
a prod canary with a team's own alarm, a linear preprod rollout, a serverless dev endpoint. One in-process
synth with cdk-nag on, one cfn-lint call over its templates."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_by_config  # type: ignore[import-untyped]

from settings import DeployEnvironmentSettings, EndpointSettings, EnvironmentType, load_settings
from settings.rollout import AlarmSettings, RolloutMode, ServerlessSettings
from stages.endpoint import EndpointStack
from stages.endpoint_guardrails import deployment_config, rollback_alarm_names, serverless_variant
from tests.conftest import Synth, seedfarmer_environment
from tests.endpoint_harness import CONTEXT, GOVERNANCE, NAMES, REGION, approved

TEAM_ALARM = "fraud-team business-kpi drop"
ENVIRONMENTS = {
    "ProdCanary": DeployEnvironmentSettings(
        name="prod",
        account="333333333333",
        type=EnvironmentType.PROD,
        endpoint=EndpointSettings(
            initial_instance_count=2, vpc=False, alarms=AlarmSettings(extra_alarm_names=(TEAM_ALARM,))
        ),
    ),
    "PreprodLinear": DeployEnvironmentSettings(
        name="staging",
        account="555555555555",
        type=EnvironmentType.PREPROD,
        endpoint=EndpointSettings.model_validate(
            {"initialInstanceCount": 4, "vpc": False, "rollout": {"mode": "linear", "linearStepSize": "25%"}}
        ),
    ),
    "DevServerless": DeployEnvironmentSettings(
        name="dev",
        account="444444444444",
        type=EnvironmentType.DEV,
        endpoint=EndpointSettings(serverless=ServerlessSettings(provisioned_concurrency=2)),
    ),
}
Templates = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    outdir = tmp_path_factory.mktemp("guardrails")
    app = cdk.App(context=CONTEXT, outdir=str(outdir))
    stacks = [
        EndpointStack(
            app,
            case,
            env=cdk.Environment(account=environment.account, region=REGION),
            governance=GOVERNANCE,
            names=NAMES,
            environment=environment,
            network_parameters=environment.endpoint.network_parameters("mlops"),
            approved_model=approved(3),
            stack_name=f"endpoint-{case.lower()}",
        )
        for case, environment in ENVIRONMENTS.items()
    ]
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises ValidationFailed on any open cdk-nag finding
    paths = {stack.node.id: outdir / f"{stack.artifact_id}.template.json" for stack in stacks}
    config = ManualArgs(templates=[str(p) for p in paths.values()], regions=[REGION], ignore_checks=["W3005"])
    assert [str(match) for match in lint_by_config(config)] == []
    return {case: json.loads(path.read_text()) for case, path in paths.items()}


def one(templates: Templates, case: str, kind: str) -> dict[str, Any]:
    (found,) = [r["Properties"] for r in templates[case]["Resources"].values() if r["Type"] == kind]
    return found  # type: ignore[no-any-return]


def endpoint_name(templates: Templates, case: str) -> str:
    return str(one(templates, case, "AWS::SageMaker::Endpoint")["EndpointName"])


# --- DeploymentConfig ------------------------------------------------------------------------------------


def test_prod_shifts_a_canary_and_rolls_back_on_its_alarms_and_the_teams(templates: Templates) -> None:
    endpoint = one(templates, "ProdCanary", "AWS::SageMaker::Endpoint")
    assert endpoint["DeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
                "WaitIntervalInSeconds": 600,
            },
            "TerminationWaitInSeconds": 600,
            "MaximumExecutionTimeoutInSeconds": 600 + 600 + 3600,
        },
        "AutoRollbackConfiguration": {
            "Alarms": [
                {"AlarmName": name} for name in (*rollback_alarm_names(endpoint["EndpointName"]), TEAM_ALARM)
            ]
        },
    }


def test_every_prod_endpoint_of_the_readme_example_is_a_canary_rolled_back_by_its_own_alarms(
    approved_synth: Synth,
) -> None:
    """issue 16's "done when", on the example as its deploy pipeline synthesizes it after an approval (the
    example synth's endpoint stacks are placeholders): each prod variant has 2 instances, so a canary."""
    prod = [
        f"{plan.name}/ModelDeploy/{target.name}/Endpoint"
        for plan in load_settings(seedfarmer_environment()).groups
        for target in plan.targets
        if target.type is EnvironmentType.PROD
    ]
    assert prod == ["prod-deployment-group/ModelDeploy/prod-env/Endpoint"]
    for suffix in prod:
        resources = approved_synth.stack(suffix).template["Resources"].values()
        (endpoint,) = [r["Properties"] for r in resources if r["Type"] == "AWS::SageMaker::Endpoint"]
        own_alarms = sorted(
            r["Properties"]["AlarmName"] for r in resources if r["Type"] == "AWS::CloudWatch::Alarm"
        )
        config = endpoint["DeploymentConfig"]
        assert config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "CANARY", suffix
        rollback = [alarm["AlarmName"] for alarm in config["AutoRollbackConfiguration"]["Alarms"]]
        assert sorted(rollback) == own_alarms == sorted(rollback_alarm_names(endpoint["EndpointName"]))


def test_endpoint_waits_for_its_alarms_which_watch_the_new_config(templates: Templates) -> None:
    """The alarms name the endpoint literally and its new config by reference: no cycle."""
    resources = templates["ProdCanary"]["Resources"]
    alarms = {k for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert len(alarms) == 2
    assert alarms <= set(resources["Endpoint"]["DependsOn"])
    for alarm in alarms:
        dimensions = {d["Name"]: d["Value"] for d in resources[alarm]["Properties"]["Dimensions"]}
        assert dimensions == {
            "EndpointName": endpoint_name(templates, "ProdCanary"),
            "VariantName": "AllTraffic",
            "EndpointConfigName": {"Fn::GetAtt": ["EndpointConfig", "EndpointConfigName"]},
        }


def test_execution_role_may_read_exactly_its_rollback_alarms(templates: Templates) -> None:
    resources = templates["ProdCanary"]["Resources"]
    (role,) = [r["Properties"] for k, r in resources.items() if k.startswith("ModelExecutionRole")]
    (statement,) = [
        s for s in role["Policies"][0]["PolicyDocument"]["Statement"] if s["Sid"] == "ReadRollbackAlarms"
    ]
    name = endpoint_name(templates, "ProdCanary")
    assert statement["Action"] == "cloudwatch:DescribeAlarms"
    assert sorted(statement["Resource"]) == sorted(
        f"arn:aws:cloudwatch:{REGION}:333333333333:alarm:{alarm}"
        for alarm in (*rollback_alarm_names(name), TEAM_ALARM)
    )


def test_linear_rollout_shifts_percentages_and_waits_once_per_step(templates: Templates) -> None:
    policy = one(templates, "PreprodLinear", "AWS::SageMaker::Endpoint")["DeploymentConfig"]
    assert policy["BlueGreenUpdatePolicy"] == {
        "TrafficRoutingConfiguration": {
            "Type": "LINEAR",
            "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            "WaitIntervalInSeconds": 600,
        },
        "TerminationWaitInSeconds": 0,
        "MaximumExecutionTimeoutInSeconds": 4 * 600 + 3600,
    }


@pytest.mark.parametrize("names", [(), tuple(f"alarm-{i}" for i in range(11)), ("a", "a")])
def test_deployment_config_refuses_what_sagemaker_would(names: tuple[str, ...]) -> None:
    plan = ENVIRONMENTS["ProdCanary"].rollout_plan(REGION)
    with pytest.raises(ValueError, match="1-10 distinct rollback alarm names"):
        deployment_config(rollout=plan, alarm_names=names)


def test_deployment_config_sizes_only_the_mode_that_uses_them() -> None:
    """A plan carrying a stale size for another mode still renders only its own mode's size."""
    plan = replace(
        ENVIRONMENTS["ProdCanary"].rollout_plan(REGION), mode=RolloutMode.ALL_AT_ONCE, wait_seconds=None
    )
    resolved = cdk.Stack().resolve(deployment_config(rollout=plan, alarm_names=["a"]))
    assert resolved["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"] == {"type": "ALL_AT_ONCE"}


def test_alarm_names_fit_cloudwatch_and_differ_per_endpoint() -> None:
    longest = "x" * 63  # SageMaker endpoint names have at most 63 characters
    assert all(len(name) <= 255 for name in rollback_alarm_names(longest))
    assert set(rollback_alarm_names("a-prod")).isdisjoint(rollback_alarm_names("a-dev"))


# --- serverless ------------------------------------------------------------------------------------------


def test_serverless_endpoint_has_its_own_name_and_no_instances(templates: Templates) -> None:
    name = endpoint_name(templates, "DevServerless")
    assert name == NAMES.endpoint("dev", serverless=True) != NAMES.endpoint("dev")
    assert name.endswith("-dev--serverless")
    config = one(templates, "DevServerless", "AWS::SageMaker::EndpointConfig")
    (variant,) = config["ProductionVariants"]
    assert variant == {
        "VariantName": "AllTraffic",
        "ModelName": variant["ModelName"],
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5, "ProvisionedConcurrency": 2},
    }
    assert not {"KmsKeyId", "DataCaptureConfig"} & set(config)


def test_serverless_model_has_no_vpc_no_isolation_and_the_stack_no_key(templates: Templates) -> None:
    model = one(templates, "DevServerless", "AWS::SageMaker::Model")
    assert "VpcConfig" not in model
    assert model["EnableNetworkIsolation"] is False
    kinds = {r["Type"] for r in templates["DevServerless"]["Resources"].values()}
    assert "AWS::KMS::Key" not in kinds
    policy = one(templates, "DevServerless", "AWS::SageMaker::Endpoint")["DeploymentConfig"]
    assert policy["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"] == {"Type": "ALL_AT_ONCE"}


def test_serverless_variant_without_provisioned_concurrency_omits_it() -> None:
    variant = cdk.Stack().resolve(
        serverless_variant(model_name="m", memory_size_in_mb=1024, max_concurrency=1)
    )
    assert variant["serverlessConfig"] == {"memorySizeInMb": 1024, "maxConcurrency": 1}
