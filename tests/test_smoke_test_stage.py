"""The smoke test's roles, outputs and step, read from the shared synths of the README example.

``example_synth`` is what the infra pipeline deploys: the deploy pipelines and placeholder endpoint stacks;
``approved_synth`` is the prod group's deploy synth after an approval: real endpoint stacks with their smoke
roles. What each role may do across accounts is proved in test_access.py; the script in test_smoke_test.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from names import GroupNames
from settings import NO_APPROVED_MODEL, DeployEnvironmentSettings
from stages.smoke_test import SCRIPT, SERVERLESS_PAYLOAD_LIMIT, pinned_boto3, smoke_test_variables
from tests.conftest import EXAMPLE_STACK_NAME, ROOT, TOOLING_ACCOUNT, Synth
from tests.test_smoke_test import SCRIPT as TESTED_SCRIPT

GROUPS = ("experimenation-deployment-group", "prod-deployment-group")
PROD_GROUP = "prod-deployment-group"
BUILD, REGION = "123456789015", "us-east-1"
NAMES = GroupNames(f"{EXAMPLE_STACK_NAME}-{PROD_GROUP}", BUILD, REGION)
PROD_ENV = "123456789017"


def pipeline_of(synth: Synth, group: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A group's deploy pipeline and the resources of its stack."""
    resources = synth.stack(f"{group}/ModelDeploy").template["Resources"]
    (pipeline,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    return pipeline, resources


def variables(action: dict[str, Any]) -> dict[str, str]:
    return {v["name"]: v["value"] for v in json.loads(action["Configuration"]["EnvironmentVariables"])}


@pytest.mark.parametrize("group", GROUPS)
def test_each_endpoint_stage_ends_with_its_smoke_test_before_the_next_stage(
    example_synth: Synth, group: str
) -> None:
    """Per execution: the stack's outputs (its deploy action's namespace) and the approved model."""
    pipeline, _ = pipeline_of(example_synth, group)
    tested = 0
    for stage in pipeline["Stages"][2:]:  # after Source and Build
        actions = stage["Actions"]
        deploys = [a for a in actions if a["Configuration"].get("ActionMode") == "CHANGE_SET_EXECUTE"]
        smoke = [a for a in actions if "SmokeTest-" in a["Name"]]
        assert len(smoke) == len(deploys) >= 1, stage["Name"]
        last_deploy = max(a["RunOrder"] for a in deploys)
        # An approval is the stage's first action; nothing but smoke tests runs after the deploys.
        assert all(a["RunOrder"] < last_deploy for a in actions if a["Name"] == "Approve")
        assert all(a in smoke for a in actions if a["RunOrder"] > last_deploy)
        expected = [
            {
                "APPROVED_MODEL_INFO": "#{variables.APPROVED_MODEL_INFO}",
                "SMOKE_ENDPOINT_NAME": f"#{{{deploy['Namespace']}.EndpointName}}",
                "SMOKE_ENDPOINT_CONFIG_NAME": f"#{{{deploy['Namespace']}.EndpointConfigName}}",
            }
            for deploy in deploys
        ]
        assert sorted(map(variables, smoke), key=str) == sorted(expected, key=str)
        tested += len(smoke)
    assert tested == {"experimenation-deployment-group": 3, "prod-deployment-group": 3}[group]


def test_the_placeholder_and_the_real_endpoint_stack_output_the_same_names(
    example_synth: Synth, approved_synth: Synth
) -> None:
    """The pipeline is built from placeholders; the real stacks must publish the variables it reads."""
    stack = f"{PROD_GROUP}/ModelDeploy/prod-env/Endpoint"
    placeholder = example_synth.stack(stack).template["Outputs"]
    real = approved_synth.stack(stack).template["Outputs"]
    assert placeholder["EndpointName"]["Value"] == NAMES.endpoint("prod-env")
    assert placeholder["EndpointConfigName"]["Value"] == NO_APPROVED_MODEL
    assert real["EndpointName"]["Value"] == {"Fn::GetAtt": ["Endpoint", "EndpointName"]}
    assert real["EndpointConfigName"]["Value"] == {"Fn::GetAtt": ["EndpointConfig", "EndpointConfigName"]}


def test_the_step_runs_the_tested_script_with_the_tested_boto3_as_its_own_role(example_synth: Synth) -> None:
    """The script is not an asset: the step runs it from the infra repository's checkout."""
    _, resources = pipeline_of(example_synth, PROD_GROUP)
    projects = {
        resources[p["Properties"]["ServiceRole"]["Fn::GetAtt"][0]]["Properties"]["RoleName"]: p["Properties"]
        for p in resources.values()
        if p["Type"] == "AWS::CodeBuild::Project" and SCRIPT in p["Properties"]["Source"]["BuildSpec"]
    }
    targets = {"prod-train-env": BUILD, "prod-approval-env": "123456789016", "prod-env": PROD_ENV}
    assert set(projects) == {NAMES.smoke_test_project_role(name) for name in targets}
    assert ROOT / SCRIPT == TESTED_SCRIPT
    for name, account in targets.items():
        project = projects[NAMES.smoke_test_project_role(name)]
        spec = json.loads(project["Source"]["BuildSpec"])
        assert spec["phases"]["install"]["commands"] == [
            f"pip install --quiet --disable-pip-version-check boto3=={pinned_boto3()}"
        ]
        assert spec["phases"]["build"]["commands"] == [f"python {SCRIPT}"]
        smoke_role = f"arn:aws:iam::{account}:role/{NAMES.smoke_test_role(name)}"
        assert {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]} == {
            "SMOKE_ENDPOINT_REGION": REGION,
            "SMOKE_ROLE_ARN": smoke_role,
            "SMOKE_MAX_LATENCY_MS": "2000",
        }


def test_a_serverless_endpoint_gets_the_smaller_request_limit() -> None:
    instances = DeployEnvironmentSettings.model_validate(
        {"name": "dev", "account": BUILD, "type": "dev", "endpoint": {"smokeTestMaxLatencyMs": 5000}}
    )
    serverless = DeployEnvironmentSettings.model_validate(
        {
            "name": "dev",
            "account": BUILD,
            "type": "dev",
            "endpoint": {"serverless": {}, "vpc": False, "networkIsolation": False},
        }
    )
    assert smoke_test_variables(NAMES, instances, "aws") == {
        "SMOKE_ENDPOINT_REGION": REGION,
        "SMOKE_ROLE_ARN": f"arn:aws:iam::{BUILD}:role/{NAMES.smoke_test_role('dev')}",
        "SMOKE_MAX_LATENCY_MS": "5000",
    }
    assert smoke_test_variables(NAMES, serverless, "aws-cn")["SMOKE_MAX_PAYLOAD_BYTES"] == str(
        SERVERLESS_PAYLOAD_LIMIT
    )
    # Its bounds (bad values: test_fuzz.py): InvokeEndpoint's own 60 s at most.
    for bound in (1, 60_000):
        assert (
            instances.endpoint.model_validate({"smokeTestMaxLatencyMs": bound}).smoke_test_max_latency_ms
            == bound
        )


def test_the_smoke_role_trusts_the_step_role_by_name_and_reaches_one_endpoint(approved_synth: Synth) -> None:
    """The statements as written; test_access.py proves what they allow and deny."""
    resources = approved_synth.stack(f"{PROD_GROUP}/ModelDeploy/prod-env/Endpoint").template["Resources"]
    (role,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Role"
        and r["Properties"].get("RoleName") == NAMES.smoke_test_role("prod-env")
    ]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    project_role = f"arn:aws:iam::{TOOLING_ACCOUNT}:role/{NAMES.smoke_test_project_role('prod-env')}"
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{TOOLING_ACCOUNT}:root"}
    assert trust["Condition"] == {"ArnEquals": {"aws:PrincipalArn": project_role}}
    assert role["MaxSessionDuration"] == 3600
    (policy,) = role["Policies"]
    assert [(s["Sid"], s["Action"]) for s in policy["PolicyDocument"]["Statement"]] == [
        ("DescribeAndInvokeEndpoint", ["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"]),
        ("DescribeModelVersions", "sagemaker:DescribeModelPackage"),
        ("ReadSamplePayloads", "s3:GetObject"),
        ("DecryptSamplePayloadsThroughS3", "kms:Decrypt"),
    ]
