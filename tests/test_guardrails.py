"""stages/endpoint_guardrails.py in small in-process stacks: a prod endpoint rolled out by canary and
rolled back by its alarms, a serverless one, and cdk-nag and cfn-lint over both."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

from settings.rollout import (
    AlarmSettings,
    Capacity,
    RolloutMode,
    RolloutSettings,
    ServerlessSettings,
)
from settings.rollout_plan import RolloutPlan, resolve_endpoint_rollout
from stages.endpoint import VARIANT_NAME as ENDPOINT_VARIANT_NAME
from stages.endpoint_guardrails import (
    VARIANT_NAME,
    RollbackAlarms,
    deployment_config,
    describe_alarms_statement,
    rollback_alarm_names,
    serverless_variant,
)

REGION = "eu-west-1"
ACCOUNT = "333333333333"
ENDPOINT = "mlops-demo-models-cicd-fraud-prod"
IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
TEAM_ALARM = "fraud-team business-kpi drop"
ALARMS = AlarmSettings(extra_alarm_names=(TEAM_ALARM,))


@dataclass(frozen=True)
class Case:
    endpoint_name: str
    plan: RolloutPlan
    serverless: ServerlessSettings | None = None


CASES = {
    "ProdCanary": Case(
        ENDPOINT,
        resolve_endpoint_rollout(
            environment_type="prod",
            region=REGION,
            instance_count=2,
            minimum_instances=None,
            rollout=None,
            alarms=ALARMS,
            serverless=None,
        ),
    ),
    "PreprodLinear": Case(
        "mlops-demo-models-cicd-fraud-staging",
        resolve_endpoint_rollout(
            environment_type="preprod",
            region=REGION,
            instance_count=4,
            minimum_instances=None,
            rollout=RolloutSettings(mode=RolloutMode.LINEAR, linear_step_size=Capacity("percent", 25)),
            alarms=AlarmSettings(),
            serverless=None,
        ),
    ),
    "DevServerless": Case(
        "mlops-demo-models-cicd-fraud-dev",
        resolve_endpoint_rollout(
            environment_type="dev",
            region=REGION,
            instance_count=1,
            minimum_instances=None,
            rollout=None,
            alarms=AlarmSettings(),
            serverless=ServerlessSettings(provisioned_concurrency=2),
        ),
        ServerlessSettings(provisioned_concurrency=2),
    ),
}


def endpoint_stack(app: cdk.App, construct_id: str, case: Case) -> cdk.Stack:
    """An endpoint as the endpoint stack would wire these parts: the parts under test, little else."""
    stack = cdk.Stack(app, construct_id, env=cdk.Environment(account=ACCOUNT, region=REGION))
    role = iam.Role(stack, "ModelExecutionRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    model = sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn=role.role_arn,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(image=IMAGE),
        enable_network_isolation=case.serverless is None,
    )
    variant = (
        serverless_variant(
            model_name=model.attr_model_name,
            memory_size_in_mb=case.serverless.memory_size_in_mb,
            max_concurrency=case.serverless.max_concurrency,
            provisioned_concurrency=case.serverless.provisioned_concurrency,
        )
        if case.serverless
        else sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=VARIANT_NAME,
            model_name=model.attr_model_name,
            instance_type="ml.m5.xlarge",
            initial_instance_count=4,
            initial_variant_weight=1.0,
        )
    )
    config = sagemaker.CfnEndpointConfig(stack, "EndpointConfig", production_variants=[variant])
    alarms = AlarmSettings()
    guard = RollbackAlarms(
        stack,
        "RollbackAlarms",
        endpoint_name=case.endpoint_name,
        endpoint_config_name=config.attr_endpoint_config_name,
        server_error_percent=alarms.server_error_percent,
        latency_statistic=alarms.latency_statistic,
        latency_threshold_ms=alarms.latency_threshold_ms,
        evaluation_periods=alarms.evaluation_periods,
    )
    names = (*guard.alarm_names, *case.plan.alarm_names)
    role.add_to_policy(
        describe_alarms_statement(
            partition=stack.partition, region=stack.region, account=stack.account, alarm_names=names
        )
    )
    endpoint = sagemaker.CfnEndpoint(
        stack,
        "Endpoint",
        endpoint_name=case.endpoint_name,
        endpoint_config_name=config.attr_endpoint_config_name,
        deployment_config=deployment_config(rollout=case.plan, alarm_names=names),
    )
    guard.watch(endpoint)
    return stack


@dataclass(frozen=True)
class Synthesized:
    outdir: Path
    templates: dict[str, dict[str, Any]]
    paths: dict[str, Path]

    def resources(self, case: str, kind: str) -> list[dict[str, Any]]:
        found = self.templates[case]["Resources"].values()
        return [resource["Properties"] for resource in found if resource["Type"] == kind]

    def one(self, case: str, kind: str) -> dict[str, Any]:
        (found,) = self.resources(case, kind)
        return found

    def logical_id(self, case: str, kind: str) -> str:
        (found,) = [k for k, v in self.templates[case]["Resources"].items() if v["Type"] == kind]
        return str(found)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("guardrails")
    app = cdk.App(outdir=str(outdir))
    stacks = {case: endpoint_stack(app, case, spec) for case, spec in CASES.items()}
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises ValidationFailed on any open cdk-nag finding
    paths = {case: outdir / f"{stack.artifact_id}.template.json" for case, stack in stacks.items()}
    return Synthesized(outdir, {case: json.loads(p.read_text()) for case, p in paths.items()}, paths)


# --- the alarms ------------------------------------------------------------------------------------------


def test_alarms_are_named_from_the_endpoint_and_watch_the_config_being_deployed(synth: Synthesized) -> None:
    config = synth.logical_id("ProdCanary", "AWS::SageMaker::EndpointConfig")
    dimensions = [
        {"Name": "EndpointConfigName", "Value": {"Fn::GetAtt": [config, "EndpointConfigName"]}},
        {"Name": "EndpointName", "Value": ENDPOINT},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    errors, latency = rollback_alarm_names(ENDPOINT)
    template = Template.from_json(synth.templates["ProdCanary"])
    template.resource_count_is("AWS::CloudWatch::Alarm", 2)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": errors,
            "Namespace": "AWS/SageMaker",
            "MetricName": "Invocation5XXErrors",
            "Statistic": "Average",
            "Threshold": 0.01,  # 1 % of invocations
            "Dimensions": dimensions,
            "Period": 60,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 3,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": latency,
            "MetricName": "ModelLatency",
            "ExtendedStatistic": "p99",
            "Threshold": 1_000_000,  # 1000 ms in microseconds
            "Dimensions": dimensions,
            "TreatMissingData": "notBreaching",
        },
    )


def test_alarm_names_fit_cloudwatch_and_differ_per_endpoint() -> None:
    longest = "x" * 63  # SageMaker endpoint names have at most 63 characters
    assert all(len(name) <= 255 for name in rollback_alarm_names(longest))
    assert set(rollback_alarm_names("a-prod")).isdisjoint(rollback_alarm_names("a-dev"))
    assert len(set(rollback_alarm_names("a-prod"))) == 2


def references(value: object) -> set[str]:
    """The logical ids a template fragment refers to through Ref, Fn::GetAtt or DependsOn."""
    if isinstance(value, dict):
        found = {value["Ref"]} if "Ref" in value else set()
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        depends = value.get("DependsOn", [])
        found |= set([depends] if isinstance(depends, str) else depends)
        return found.union(*(references(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(references(item) for item in value))
    return set()


def test_endpoint_waits_for_its_alarms_which_do_not_refer_to_it(synth: Synthesized) -> None:
    """The alarms name the endpoint literally, so the endpoint can depend on them without a cycle."""
    resources = synth.templates["ProdCanary"]["Resources"]
    endpoint_id = synth.logical_id("ProdCanary", "AWS::SageMaker::Endpoint")
    config_id = synth.logical_id("ProdCanary", "AWS::SageMaker::EndpointConfig")
    alarm_ids = {k for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert len(alarm_ids) == 2
    assert references(resources[endpoint_id]) == {config_id, *alarm_ids}
    assert set(resources[endpoint_id]["DependsOn"]) == alarm_ids
    for alarm_id in alarm_ids:
        assert references(resources[alarm_id]) == {config_id}


# --- DeploymentConfig ------------------------------------------------------------------------------------


def test_prod_endpoint_shifts_a_canary_and_rolls_back_on_every_alarm(synth: Synthesized) -> None:
    endpoint = synth.one("ProdCanary", "AWS::SageMaker::Endpoint")
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
            "Alarms": [{"AlarmName": name} for name in (*rollback_alarm_names(ENDPOINT), TEAM_ALARM)]
        },
    }


def test_linear_rollout_shifts_percentages(synth: Synthesized) -> None:
    routing = synth.one("PreprodLinear", "AWS::SageMaker::Endpoint")["DeploymentConfig"][
        "BlueGreenUpdatePolicy"
    ]
    assert routing["TrafficRoutingConfiguration"] == {
        "Type": "LINEAR",
        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
        "WaitIntervalInSeconds": 600,
    }
    assert routing["TerminationWaitInSeconds"] == 0
    assert routing["MaximumExecutionTimeoutInSeconds"] == 4 * 600 + 3600


def test_all_at_once_has_no_steps_to_wait_between(synth: Synthesized) -> None:
    policy = synth.one("DevServerless", "AWS::SageMaker::Endpoint")["DeploymentConfig"]
    assert policy["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"] == {"Type": "ALL_AT_ONCE"}
    assert len(policy["AutoRollbackConfiguration"]["Alarms"]) == 2


@pytest.mark.parametrize("names", [(), tuple(f"alarm-{i}" for i in range(11)), ("a", "a")])
def test_deployment_config_refuses_what_sagemaker_would(names: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="1-10 distinct rollback alarm names"):
        deployment_config(rollout=CASES["ProdCanary"].plan, alarm_names=names)


def test_deployment_config_sizes_only_the_mode_that_uses_them() -> None:
    """A plan carrying a stale size for another mode still renders only its own mode's size."""
    plan = replace(CASES["ProdCanary"].plan, mode=RolloutMode.ALL_AT_ONCE, wait_seconds=None)
    stack = cdk.Stack()
    resolved = stack.resolve(deployment_config(rollout=plan, alarm_names=["a"]))
    assert resolved["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"] == {"type": "ALL_AT_ONCE"}


# --- the execution role ----------------------------------------------------------------------------------


def test_execution_role_may_read_exactly_the_rollback_alarms(synth: Synthesized) -> None:
    (policy,) = synth.resources("ProdCanary", "AWS::IAM::Policy")
    (statement,) = policy["PolicyDocument"]["Statement"]
    arn = f"arn:{{}}:cloudwatch:{REGION}:{ACCOUNT}:alarm:{{}}"
    assert statement["Sid"] == "ReadRollbackAlarms"
    assert statement["Action"] == "cloudwatch:DescribeAlarms"
    resources = [
        "".join(part if isinstance(part, str) else "aws" for part in r["Fn::Join"][1])
        for r in statement["Resource"]
    ]
    assert resources == [arn.format("aws", name) for name in (*rollback_alarm_names(ENDPOINT), TEAM_ALARM)]


# --- serverless ------------------------------------------------------------------------------------------


def test_serverless_variant_keeps_the_variant_name_and_has_no_instances(synth: Synthesized) -> None:
    config = synth.one("DevServerless", "AWS::SageMaker::EndpointConfig")
    (variant,) = config["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic" == ENDPOINT_VARIANT_NAME
    assert variant["ServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 5,
        "ProvisionedConcurrency": 2,
    }
    assert not {"InstanceType", "InitialInstanceCount"} & set(variant)
    assert not {"KmsKeyId", "DataCaptureConfig"} & set(config)


def test_serverless_variant_without_provisioned_concurrency_omits_it() -> None:
    stack = cdk.Stack()
    variant = stack.resolve(serverless_variant(model_name="m", memory_size_in_mb=1024, max_concurrency=1))
    assert variant["serverlessConfig"] == {"memorySizeInMb": 1024, "maxConcurrency": 1}


def test_guardrails_variant_name_is_the_endpoint_stacks() -> None:
    assert VARIANT_NAME == ENDPOINT_VARIANT_NAME


def test_template_matches_cdk_assertions_for_serverless_endpoint(synth: Synthesized) -> None:
    Template.from_json(synth.templates["DevServerless"]).has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {"ProductionVariants": [Match.object_like({"ServerlessConfig": Match.object_like({})})]},
    )


# --- cdk-nag and cfn-lint --------------------------------------------------------------------------------


def test_cdk_nag_inspects_these_stacks(tmp_path: Path) -> None:
    """The fixture's synth passing proves no open finding only if cdk-nag looks: one wildcard fails it."""
    app = cdk.App(outdir=str(tmp_path))
    stack = endpoint_stack(app, "ProdCanary", CASES["ProdCanary"])
    role = stack.node.find_child("ModelExecutionRole")
    assert isinstance(role, iam.Role)
    role.add_to_policy(iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=["*"]))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert {v["ruleName"] for v in nag["violations"]} == {"AwsSolutions-IAM5[Resource::*]"}


def _lint(path: Path) -> Iterator[str]:
    for match in lint_file(path, ManualArgs(regions=[REGION])):
        if match.rule.id != "W3005":
            yield str(match)


@pytest.mark.parametrize("case", list(CASES))
def test_cfn_lint_is_clean(synth: Synthesized, case: str) -> None:
    assert list(_lint(synth.paths[case])) == []


def test_same_inputs_give_byte_identical_templates(synth: Synthesized, tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    for case, spec in CASES.items():
        endpoint_stack(app, case, spec)
    app.synth()
    for case, path in synth.paths.items():
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), case
