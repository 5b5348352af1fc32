"""The smoke test after each endpoint stage: a role in the endpoint's account, a step in the deploy pipeline.

The endpoint stack (deploy account) creates the smoke role: it may describe and invoke that one endpoint,
describe the group's model package versions and read their sample payloads, nothing else. The deploy
pipeline (tooling account) runs ``functions/smoke_test/index.py`` after the stage as a CodeBuild step whose
role may assume exactly that smoke role. Both roles have fixed names (``GroupNames.smoke_test_role`` and
``smoke_test_project_role``), so each side names the other before it exists; no CloudFormation export
crosses accounts.

The step reads the endpoint's name and the config the stack just deployed from the stack's outputs: the
CloudFormation deploy action publishes every output of the stack as a pipeline variable, so the outputs
need only exist in the template the pipeline deploys (the placeholder stack before any approval has them
too, with the same logical ids, so the pipeline's definition never changes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import pipelines
from constructs import Construct

from blocks import cdk_values
from blocks.nag import acknowledge
from blocks.pipelines import BUILD_IMAGE, RUNTIMES, in_folder
from names import SAMPLE_PAYLOADS_PREFIX, GroupNames
from settings import APPROVED_MODEL_INFO_VARIABLE, DeployEnvironmentSettings

SCRIPT = "functions/smoke_test/index.py"
# A serverless endpoint takes requests of at most 4 MB ("Invoke a serverless endpoint", SageMaker Developer
# Guide); the smaller reading of "MB", so no file the step sends is refused for its size. Instance
# endpoints take the script's default, InvokeEndpoint's 6,291,456 bytes.
SERVERLESS_PAYLOAD_LIMIT = 4_000_000

REQUIREMENTS_DEV = Path(__file__).resolve().parent.parent / "requirements-dev.txt"
_BOTO3_PIN = re.compile(r"^boto3==(\d+\.\d+\.\d+)\s*$", re.MULTILINE)


def pinned_boto3() -> str:
    """The boto3 the tests ran the script with (requirements-dev.txt), installed in the step."""
    match = _BOTO3_PIN.search(REQUIREMENTS_DEV.read_text(encoding="utf-8"))
    if not match:
        raise ValueError(f"{REQUIREMENTS_DEV}: boto3 must be pinned to an exact version (boto3==x.y.z)")
    return match.group(1)


def add_smoke_role(
    stack: cdk.Stack, *, names: GroupNames, environment_name: str, endpoint_name: str, tooling_account: str
) -> iam.Role:
    """The smoke role of ``environment_name``'s endpoint ``endpoint_name``, in ``stack`` (its endpoint stack).

    Trusted by the tooling account only for the step's fixed-name role (``aws:PrincipalArn``): a role
    ARN as a trust principal must exist when the policy is saved, a condition value is not checked (IAM
    User Guide, "IAM JSON policy elements: Principal"; "AWS global condition context keys").
    """
    partition = stack.partition
    build = f"{names.build_region}:{names.build_account}"
    samples = f"arn:{partition}:s3:::{names.artifacts_bucket}/{SAMPLE_PAYLOADS_PREFIX}/*"
    versions = f"arn:{partition}:sagemaker:{build}:model-package/{names.model_package_group}/*"
    keys = f"arn:{partition}:kms:{build}:key/*"
    project_role = (
        f"arn:{partition}:iam::{tooling_account}:role/{names.smoke_test_project_role(environment_name)}"
    )
    role = iam.Role(
        stack,
        "SmokeTestRole",
        role_name=names.smoke_test_role(environment_name),
        assumed_by=cdk_values.account_principal(tooling_account).with_conditions(
            {"ArnEquals": {"aws:PrincipalArn": project_role}}
        ),
        description=f"Lets the deploy pipeline's smoke test describe and invoke {endpoint_name}",
        max_session_duration=cdk_values.hours(1),
        inline_policies={
            "SmokeTest": iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        sid="DescribeAndInvokeEndpoint",
                        actions=["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"],
                        resources=[
                            stack.format_arn(
                                service="sagemaker", resource="endpoint", resource_name=endpoint_name
                            )
                        ],
                    ),
                    iam.PolicyStatement(
                        sid="DescribeModelVersions",
                        actions=["sagemaker:DescribeModelPackage"],
                        resources=[versions],
                    ),
                    iam.PolicyStatement(
                        sid="ReadSamplePayloads", actions=["s3:GetObject"], resources=[samples]
                    ),
                    iam.PolicyStatement(
                        sid="DecryptSamplePayloadsThroughS3",
                        actions=["kms:Decrypt"],
                        resources=[keys],
                        conditions={
                            "ForAnyValue:StringEquals": {"kms:ResourceAliases": names.artifacts_key_alias},
                            "StringEquals": {"kms:ViaService": f"s3.{names.build_region}.amazonaws.com"},
                        },
                    ),
                ]
            )
        },
    )
    acknowledge(
        role,
        {
            f"IAM5[Resource::{versions}]": (
                "Describe only, versions of this group's one model package group, numbered as they are "
                "registered: the approved one is known only when the pipeline runs."
            ),
            f"IAM5[Resource::{samples}]": (
                "Read-only on the sample payloads prefix of this group's one artifacts bucket, under keys "
                "generated per pipeline execution."
            ),
            f"IAM5[Resource::{keys}]": (
                "Decrypt only the key carrying this group's artifacts key alias (kms:ResourceAliases), and "
                "only through S3 in the build region (kms:ViaService); its key id is unknown in this account."
            ),
        },
    )
    return role


@dataclass(frozen=True)
class SmokeTest:
    """One endpoint stage's smoke test: the step to add as the stage's ``post`` step, and its role.

    The step's project (CDK creates it when the pipeline is built) runs as ``role``.
    """

    step: pipelines.CodeBuildStep
    role: iam.Role


def smoke_test_variables(
    names: GroupNames, environment: DeployEnvironmentSettings, partition: str
) -> dict[str, str]:
    """The step's fixed variables (on its project); the stack's outputs and the model come per execution."""
    endpoint = environment.endpoint
    smoke_role = names.smoke_test_role(environment.name)
    return {
        # The endpoint's region, not the pipeline's: CodeBuild sets AWS_REGION to the tooling region.
        "SMOKE_ENDPOINT_REGION": names.build_region,
        "SMOKE_ROLE_ARN": f"arn:{partition}:iam::{environment.account}:role/{smoke_role}",
        "SMOKE_MAX_LATENCY_MS": str(endpoint.smoke_test_max_latency_ms),
        **({"SMOKE_MAX_PAYLOAD_BYTES": str(SERVERLESS_PAYLOAD_LIMIT)} if endpoint.serverless else {}),
    }


def smoke_test_step(
    scope: Construct,
    *,
    names: GroupNames,
    environment: DeployEnvironmentSettings,
    source: pipelines.IFileSetProducer,
    module_path: str,
    endpoint_name_output: cdk.CfnOutput,
    endpoint_config_name_output: cdk.CfnOutput,
    partition: str,
) -> SmokeTest:
    """The step that tests ``environment``'s endpoint right after its stage deploys it.

    ``scope``: the deploy pipeline (``pipelines.CodePipeline``), so that what it acknowledges for its own
    artifact store covers this role too. ``source``: the infra repository, whose ``module_path`` holds
    the script, at the commit the pipeline's synth used. The two outputs are the endpoint stack's.
    ``partition``: the pipeline stack's, read once per stack (each read is a jsii round trip).
    """
    variables = smoke_test_variables(names, environment, partition)
    role = iam.Role(
        scope,
        f"SmokeTestRole-{environment.name}",
        role_name=names.smoke_test_project_role(environment.name),
        assumed_by=cdk_values.service_principal("codebuild.amazonaws.com"),
        description=f"Runs the smoke test of {environment.name}'s endpoint; may assume its smoke role only",
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="AssumeSmokeRole", actions=["sts:AssumeRole"], resources=[variables["SMOKE_ROLE_ARN"]]
        )
    )
    step = pipelines.CodeBuildStep(
        f"SmokeTest-{environment.name}",
        input=source,
        install_commands=[f"pip install --quiet --disable-pip-version-check boto3=={pinned_boto3()}"],
        commands=[f"python {in_folder(module_path, SCRIPT)}"],
        env={
            **variables,
            # The version this execution deploys, as the pipeline variable holds it (base64 JSON).
            APPROVED_MODEL_INFO_VARIABLE: f"#{{variables.{APPROVED_MODEL_INFO_VARIABLE}}}",
        },
        env_from_cfn_outputs={
            "SMOKE_ENDPOINT_NAME": endpoint_name_output,
            "SMOKE_ENDPOINT_CONFIG_NAME": endpoint_config_name_output,
        },
        role=role,
        build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE),
        partial_build_spec=RUNTIMES,
        timeout=cdk_values.minutes(15),
    )
    return SmokeTest(step=step, role=role)
