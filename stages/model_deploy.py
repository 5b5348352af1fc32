"""Tooling account: a group's deploy pipeline and the approval trigger that starts it.

Approving a model version in the build account's registry publishes to the group's approval topic; the
trigger (subscribed across accounts and regions) records the version in an SSM parameter and starts the
deploy pipeline with the version as its ``APPROVED_MODEL_INFO`` pipeline variable. Its synth step
re-synthesizes this module with that variable, so a queued execution deploys the model it was started
for, and its stages, fixed from the moment the pipeline is created, deploy the endpoint stack into the
build account and every deploy account, asking a human before each environment that needs approval.
Each endpoint's deploy is followed, in its stage, by its smoke test (:mod:`stages.smoke_test`), so a
failing or rolled-back endpoint stops the run before the next environment.
Approvals the trigger cannot take end in queues with alarms (:mod:`stages.failed_approvals`).

Why the stages never depend on the model: the infra pipeline deploys this pipeline from a synth without
``APPROVED_MODEL_INFO`` and the pipeline does not self-mutate, so a stage that appeared only with a model
would never exist in AWS. A run without a model stops in its synth step, before any stage.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from aws_cdk import pipelines
from constructs import Construct

from blocks import cdk_values
from blocks.governance import Governance, GovernedStack
from blocks.lambda_functions import lambda_role
from blocks.nag import acknowledge_codebuild_defaults
from blocks.pipelines import (
    PipelineArtifactStore,
    acknowledge_replication,
    artifact_buckets,
    grant_connection_use,
    module_synth_step,
    pinned_cdk_tools,
    pipeline_source,
)
from names import CODEPIPELINE, bounded, cdk_lookup_role_arn
from quotas import check_pipeline
from settings import (
    APPROVED_MODEL_GROUP_VARIABLE,
    APPROVED_MODEL_INFO_VARIABLE,
    NO_APPROVED_MODEL,
    DeployEnvironmentSettings,
    DeploymentGroupSettings,
    GroupPlan,
    InfraRepositorySettings,
)
from stages.deploy_trigger import approval_trigger
from stages.endpoint import EndpointStack
from stages.failed_approvals import ApprovalQueue
from stages.smoke_test import SmokeTest, smoke_test_step

NO_MODEL_GUARD = (
    f'if [ "${{{APPROVED_MODEL_INFO_VARIABLE}:-{NO_APPROVED_MODEL}}}" = "{NO_APPROVED_MODEL}" ]; then '
    'echo "No model version has been approved for this group yet: nothing to deploy, this run stops here. '
    'Approve a version in the model registry to deploy it."; exit 1; fi'
)


# Endpoint VPC values are context lookups (see stages.endpoint): none may come from a cached file, so a
# changed value reaches the next run's template. The CLI writes what it looks up to this file.
FRESH_LOOKUPS = "rm -f cdk.context.json"


def _lookup_statements(plan: GroupPlan) -> list[iam.PolicyStatement]:
    """The synth reads each VPC-attached target's subnets and security group through its lookup role.

    The CDK CLI assumes the stack environment's lookup role for context lookups; the bootstrap's lookup
    role trusts the ``--trust`` accounts and carries ReadOnlyAccess, without kms:Decrypt (CDK Developer
    Guide, "Bootstrapping your environment"). https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html
    """
    roles = sorted(
        {
            cdk_lookup_role_arn(cdk_values.partition(), target.account, plan.names.build_region)
            for target in plan.targets
            if target.endpoint.vpc
        }
    )
    if not roles:
        return []
    return [iam.PolicyStatement(sid="LookUpEndpointNetwork", actions=["sts:AssumeRole"], resources=roles)]


class EndpointStage(cdk.Stage):
    """One environment's endpoint stack, deployed by the deploy pipeline through the CDK bootstrap roles."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: cdk.Environment,
        governance: Governance,
        plan: GroupPlan,
        environment: DeployEnvironmentSettings,
    ) -> None:
        super().__init__(scope, construct_id, env=env)
        self.endpoint = EndpointStack(
            self,
            "Endpoint",
            env=env,
            governance=governance,
            names=plan.names,
            environment=environment,
            network_parameters=environment.endpoint.network_parameters(plan.project_name),
            approved_model=plan.approved_model,
            stack_name=plan.stack_name(f"{environment.name}-endpoint"),
        )


class ModelDeployStack(GovernedStack):
    """One group's deploy pipeline, its approved-model parameter and the trigger that starts it."""

    failed_approvals: ApprovalQueue
    """Where the trigger's failed invocations go (set by :func:`stages.deploy_trigger.approval_trigger`)."""
    undelivered_approvals: ApprovalQueue
    """Where SNS puts what it could not deliver to the trigger."""
    trigger_errors: cloudwatch.Alarm

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: cdk.Environment,
        governance: Governance,
        plan: GroupPlan,
        infra_repo: InfraRepositorySettings,
        carried_environment: dict[str, str],
        access_logs_bucket_name: str,
        stack_name: str,
    ) -> None:
        group, names = plan.group, plan.names
        super().__init__(
            scope,
            construct_id,
            env=env,
            governance=governance,
            stack_name=stack_name,
            description=f"SageMaker model CICD: model deploy pipeline of {group.name}",
        )
        self.parameter_name = names.approved_model_parameter
        self.parameter_arn = self.format_arn(
            service="ssm", resource="parameter", resource_name=self.parameter_name.lstrip("/")
        )
        self.pipeline_arn = self.format_arn(service="codepipeline", resource=names.model_deploy_pipeline)
        self._approved_model_parameter(group)
        store = PipelineArtifactStore(self, "ArtifactStore", access_logs_bucket_name=access_logs_bucket_name)

        # No push trigger: the pipeline runs when a model version is approved.
        source = pipeline_source(self, infra_repo, infra_repo.branch, trigger_on_push=False)
        synth = module_synth_step(
            source,
            infra_repo.path,
            {
                **carried_environment,
                APPROVED_MODEL_GROUP_VARIABLE: group.name,
                # A pipeline variable: CDK puts it on the action, which CodePipeline resolves per execution.
                APPROVED_MODEL_INFO_VARIABLE: f"#{{variables.{APPROVED_MODEL_INFO_VARIABLE}}}",
            },
            guards=(NO_MODEL_GUARD, FRESH_LOOKUPS),
            role_policy_statements=_lookup_statements(plan),
            cache_bucket=store.bucket,
        )
        base = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_name=names.model_deploy_pipeline,
            pipeline_type=codepipeline.PipelineType.V2,
            # Two approvals deploy one after the other, the later last.
            execution_mode=codepipeline.ExecutionMode.QUEUED,
            # Endpoint stages run in the build region, through that region's bucket.
            **artifact_buckets(self, store, [names.build_region], governance),
            cross_account_keys=True,
            enable_key_rotation=True,
            restart_execution_on_update=False,
            variables=[
                codepipeline.Variable(
                    variable_name=APPROVED_MODEL_INFO_VARIABLE,
                    default_value=NO_APPROVED_MODEL,
                    description="The approved model this execution deploys; the approval trigger sets it",
                )
            ],
        )
        tools = pinned_cdk_tools()
        self.pipeline = pipelines.CodePipeline(
            self,
            "DeployPipeline",
            code_pipeline=base,
            synth=synth,
            self_mutation=False,
            cli_version=tools.cli,
            cdk_assets_cli_version=tools.assets,
        )
        smoke_tests: list[SmokeTest] = []
        partition = self.partition
        for wave in plan.waves:
            pre: list[pipelines.Step] = []
            if wave.needs_approval:
                where = ", ".join(target.name for target in wave.targets)
                pre.append(
                    pipelines.ManualApprovalStep(
                        "Approve", comment=f"Deploy {group.name}'s approved model to {where} ({wave.type})?"
                    )
                )
            stages = [
                EndpointStage(
                    self,
                    bounded(target.name, CODEPIPELINE),
                    env=cdk.Environment(account=target.account, region=names.build_region),
                    governance=governance,
                    plan=plan,
                    environment=target,
                )
                for target in wave.targets
            ]
            # Each stage's smoke test runs in its pipeline stage, so the next stage (and its approval) waits.
            smoke = [
                smoke_test_step(
                    self.pipeline,
                    names=names,
                    environment=target,
                    source=source,
                    module_path=infra_repo.path,
                    endpoint_name_output=stage.endpoint.endpoint_name_output,
                    endpoint_config_name_output=stage.endpoint.endpoint_config_name_output,
                    partition=partition,
                )
                for target, stage in zip(wave.targets, stages, strict=True)
            ]
            smoke_tests += smoke
            if wave.name is None:
                (stage,) = stages
                self.pipeline.add_stage(stage, pre=pre, post=[smoke[0].step])
            else:
                side_by_side = self.pipeline.add_wave(wave.name, pre=pre)
                for stage, test in zip(stages, smoke, strict=True):
                    side_by_side.add_stage(stage, post=[test.step])
        self.pipeline.build_pipeline()
        check_pipeline(base, f"deploy pipeline of {group.name}")
        grant_connection_use(base, infra_repo)
        acknowledge_replication(base, self)
        store.acknowledge_artifact_access(base, self.pipeline, stack=self)
        # The steps' projects exist once the pipeline is built; each smoke test's runs as its role.
        acknowledge_codebuild_defaults(
            self,
            [(self.pipeline.synth_project, None), *((test.step.project, test.role) for test in smoke_tests)],
        )

        self.trigger = approval_trigger(self, plan, governance)

    def _approved_model_parameter(self, group: DeploymentGroupSettings) -> None:
        """Created once with ``NONE``; from then on its value belongs to the trigger.

        A CloudFormation parameter resource would write its template value back on any update (a tag
        change is enough); this call runs on create only, never overwrites, and leaves the parameter in
        place on delete, so a redeploy resumes from the last approved model.
        """
        name = self.parameter_name
        create = cr.AwsSdkCall(
            service="SSM",
            action="putParameter",
            parameters={
                "Name": name,
                "Value": NO_APPROVED_MODEL,
                "Type": "String",
                "Overwrite": False,
                "Description": f"The model version of {group.name} its deploy pipeline deploys",
            },
            physical_resource_id=cr.PhysicalResourceId.of(name),
            ignore_error_codes_matching="ParameterAlreadyExists",
        )
        role, log_group = lambda_role(
            self, "ApprovedModelParameter", description="Creates the approved-model parameter once"
        )
        cr.AwsCustomResource(
            self,
            "ApprovedModelParameter",
            on_create=create,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["ssm:PutParameter"], resources=[self.parameter_arn])]
            ),
            role=role,
            install_latest_aws_sdk=False,
            log_group=log_group,
        )
