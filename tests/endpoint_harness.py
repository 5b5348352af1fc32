"""What the endpoint stack's tests share: seven endpoint stacks (placeholder, prod and its next version and
a bigger instance, a GPU dev endpoint outside any VPC, the build account's, long names), their inputs, and
reading their templates (a helper module, not a test module). conftest's ``endpoint_synth`` synthesizes
them once per session, with cdk-nag on."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from blocks.governance import Governance
from names import GroupNames
from settings import (
    ApprovedModel,
    AutoScalingSettings,
    BuildEnvironmentSettings,
    DeployEnvironmentSettings,
    EndpointSettings,
    EnvironmentType,
)
from stages.endpoint import EndpointStack
from tests.conftest import endpoint_network_ids, ssm_lookup_key

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
REGION = "eu-west-1"
BUILD_ACCOUNT = "222222222222"
PROD_ACCOUNT = "333333333333"
DEV_ACCOUNT = "444444444444"
GOVERNANCE = Governance(
    tags={"CostCenter": "ml-4242"}, tooling_account="111111111111", boundary_name="OrgBoundary"
)
NAMES = GroupNames(prefix="mlops-demo-models-cicd-fraud", build_account=BUILD_ACCOUNT, build_region=REGION)
LONG_NAMES = GroupNames(
    prefix="Machine-Learning-Platform-Project-Production-Deployment-Name-Sagemaker-Model-Cicd-Module-Name-"
    "Very-Long-Mixed-Case-Deployment-Group-Name-For-Limits-Testing-X",
    build_account=BUILD_ACCOUNT,
    build_region=REGION,
)
SAGEMAKER_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
IMAGE_ACCOUNT = "141502667606"
IMAGE_REPOSITORY = "sagemaker-xgboost"
IMAGE = f"{IMAGE_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{IMAGE_REPOSITORY}:1.7-1"

EXECUTION_ROLE = "ModelExecutionRole"  # the model's role; the scaling function has its own
SCALING_TYPES = {"Custom::ScalingGuard", "Custom::ScalingRegistration"}
SCALING = AutoScalingSettings(min_capacity=2, max_capacity=6, target_invocations_per_instance=750)
PROD = DeployEnvironmentSettings(
    name="prod",
    account=PROD_ACCOUNT,
    type=EnvironmentType.PROD,
    endpoint=EndpointSettings(
        instance_type="ml.m5.xlarge",
        initial_instance_count=2,
        auto_scaling=SCALING,
        data_capture_percentage=25,
        vpc=True,
    ),
)
PROD_BIGGER = PROD.model_copy(
    update={"endpoint": PROD.endpoint.model_copy(update={"instance_type": "ml.m5.2xlarge"})}
)
GPU_DEV = DeployEnvironmentSettings(
    name="dev",
    account=DEV_ACCOUNT,
    type=EnvironmentType.DEV,
    endpoint=EndpointSettings(instance_type="ml.g5.2xlarge", vpc=False, network_isolation=False),
)
BUILD = BuildEnvironmentSettings(
    name="train",
    account=BUILD_ACCOUNT,
    region=REGION,
    type=EnvironmentType.DEV,
    endpoint=EndpointSettings(
        instance_type="ml.c5.large",
        data_capture_percentage=10,
        subnet_ids_parameter="/shared/network/subnets",
        security_group_id_parameter="/shared/network/endpoint-sg",
    ),
)
LONG = DeployEnvironmentSettings(
    name="Deploy-Env-With-A-Long-Name-Too", account=PROD_ACCOUNT, type=EnvironmentType.PREPROD
)


def approved(version: int, names: GroupNames = NAMES) -> ApprovedModel:
    return ApprovedModel(
        model_package_arn=f"arn:aws:sagemaker:{REGION}:{BUILD_ACCOUNT}:model-package/{names.model_package_group}/{version}",
        model_data_url=f"s3://{names.artifacts_bucket}/models/run-{version}/model.tar.gz",
        image_uri=IMAGE,
    )


@dataclass(frozen=True)
class Case:
    names: GroupNames
    environment: DeployEnvironmentSettings
    model: ApprovedModel | None


CASES = {
    "Placeholder": Case(NAMES, PROD, None),
    "Prod": Case(NAMES, PROD, approved(3)),
    "ProdNextVersion": Case(NAMES, PROD, approved(4)),
    "ProdBigger": Case(NAMES, PROD_BIGGER, approved(3)),
    "Gpu": Case(NAMES, GPU_DEV, approved(3)),
    "Build": Case(NAMES, BUILD, approved(3)),
    "Long": Case(LONG_NAMES, LONG, approved(3, LONG_NAMES)),
}


def lookup_key(account: str, parameter: str) -> str:
    return ssm_lookup_key(account, parameter, REGION)


def network_lookups(accounts: dict[str, tuple[str, str]]) -> dict[str, str]:
    """What the CDK CLI would have looked up through each account's lookup role, as context."""
    context = {}
    for account, (subnets_parameter, security_group_parameter) in accounts.items():
        subnets, security_group = endpoint_network_ids(account)
        # A StringList parameter's value, as GetParameter returns it: unsorted, spaces after commas.
        context[lookup_key(account, subnets_parameter)] = ", ".join(reversed(subnets))
        context[lookup_key(account, security_group_parameter)] = security_group
    return context


LOOKUPS = network_lookups(
    {
        PROD_ACCOUNT: ("/mlops/vpc/subnets/private/ids", "/mlops/vpc/sg/id"),
        BUILD_ACCOUNT: ("/shared/network/subnets", "/shared/network/endpoint-sg"),
    }
)


def build_app(outdir: Path) -> cdk.App:
    app = cdk.App(context={**CONTEXT, **LOOKUPS}, outdir=str(outdir))
    for construct_id, case in CASES.items():
        EndpointStack(
            app,
            construct_id,
            env=cdk.Environment(account=case.environment.account, region=REGION),
            governance=GOVERNANCE,
            names=case.names,
            environment=case.environment,
            network_parameters=case.environment.endpoint.network_parameters("mlops"),
            approved_model=case.model,
            stack_name=f"endpoint-{construct_id.lower()}",
        )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


@dataclass(frozen=True)
class Synthesized:
    outdir: Path
    templates: dict[str, dict[str, Any]]
    stacks: dict[str, EndpointStack]

    def template(self, case: str) -> Template:
        return Template.from_json(self.templates[case])

    def resources(self, case: str, kind: str, prefix: str = "") -> dict[str, dict[str, Any]]:
        """The resources of ``kind``, those whose logical id starts with ``prefix``."""
        return {
            k: v
            for k, v in self.templates[case]["Resources"].items()
            if v["Type"] == kind and k.startswith(prefix)
        }

    def one(self, case: str, kind: str, prefix: str = "") -> dict[str, Any]:
        found = list(self.resources(case, kind, prefix).values())
        assert len(found) == 1, (case, kind, found)
        return found[0]["Properties"]  # type: ignore[no-any-return]


def synthesize(outdir: Path) -> Synthesized:
    app = build_app(outdir)
    app.synth()  # raises ValidationFailed on any open cdk-nag finding
    stacks = {c.node.id: c for c in app.node.children if isinstance(c, EndpointStack)}
    templates = {
        case: json.loads((outdir / f"{stack.artifact_id}.template.json").read_text())
        for case, stack in stacks.items()
    }
    return Synthesized(outdir, templates, stacks)


def execution_role_statements(synth: Synthesized, case: str) -> dict[str, dict[str, Any]]:
    role = synth.one(case, "AWS::IAM::Role", EXECUTION_ROLE)
    (policy,) = role["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
