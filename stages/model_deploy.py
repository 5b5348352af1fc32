"""Tooling account: a group's deploy pipeline and the approval trigger that starts it.

Approving a model version in the build account's registry publishes to the group's approval topic; the
trigger (subscribed across accounts and regions) records the version in an SSM parameter and starts the
deploy pipeline with the version as its ``APPROVED_MODEL_INFO`` pipeline variable. Its synth step
re-synthesizes this module with that variable, so a queued execution deploys the model it was started
for, and its stages, fixed from the moment the pipeline is created, deploy the endpoint stack into the
build account and every deploy account, asking a human before each environment that needs approval.
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
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import custom_resources as cr
from aws_cdk import pipelines
from constructs import Construct

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
from stages.endpoint import EndpointStack
from stages.failed_approvals import failed_approvals, undelivered_approvals
from stages.functions import lambda_role, module_function
from stages.governance import Governance, GovernedStack
from stages.nag import acknowledge_codebuild_defaults
from stages.tooling import (
    PipelineArtifactStore,
    acknowledge_replication,
    artifact_buckets,
    grant_connection_use,
    module_synth_step,
    pinned_cdk_tools,
    pipeline_source,
)

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
            cdk_lookup_role_arn(cdk.Aws.PARTITION, target.account, plan.names.build_region)
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
            if wave.name is None:
                (stage,) = stages
                self.pipeline.add_stage(stage, pre=pre)
            else:
                side_by_side = self.pipeline.add_wave(wave.name, pre=pre)
                for stage in stages:
                    side_by_side.add_stage(stage)
        self.pipeline.build_pipeline()
        check_pipeline(base, f"deploy pipeline of {group.name}")
        grant_connection_use(base, infra_repo)
        acknowledge_replication(base)
        store.acknowledge_artifact_access(base, self.pipeline)
        acknowledge_codebuild_defaults(self.pipeline.synth_project)

        self.trigger = self._approval_trigger(plan, governance)

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

    def _approval_trigger(self, plan: GroupPlan, governance: Governance) -> lambda_.Function:
        """Records an approved version and starts the deploy pipeline; may do nothing else."""
        names = plan.names
        function, role = module_function(
            self,
            "ApprovalTrigger",
            folder="approval_trigger",
            function_name=names.approval_trigger_function,
            description="Deploys approved model versions of this group",
            timeout=cdk.Duration.seconds(30),
            environment={
                "APPROVED_MODEL_PARAMETER": self.parameter_name,
                "DEPLOY_PIPELINE_NAME": names.model_deploy_pipeline,
                "MODEL_PACKAGE_GROUP_NAME": names.model_package_group,
                "MODEL_PACKAGE_PARTITION": cdk.Aws.PARTITION,
                "MODEL_PACKAGE_ACCOUNT": names.build_account,
                "MODEL_PACKAGE_REGION": names.build_region,
            },
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="RecordApprovedModel", actions=["ssm:PutParameter"], resources=[self.parameter_arn]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="StartDeployPipeline",
                actions=["codepipeline:StartPipelineExecution"],
                resources=[self.pipeline_arn],
            )
        )
        # To tell a duplicate delivery from a new approval: the newest unfinished execution's model.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="FindPendingExecution",
                actions=["codepipeline:ListPipelineExecutions", "codepipeline:GetPipelineExecution"],
                resources=[self.pipeline_arn],
            )
        )
        self.failed_approvals = failed_approvals(self, names, role)
        async_config = lambda_.CfnEventInvokeConfig(
            self,
            "ApprovalTriggerAsync",
            function_name=function.function_name,
            qualifier="$LATEST",
            maximum_retry_attempts=2,
            destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
                on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(
                    destination=self.failed_approvals.queue.queue_arn
                )
            ),
        )
        # Lambda checks the role may send to the destination when the configuration is created.
        async_config.node.add_dependency(role)
        self.trigger_errors = cloudwatch.Alarm(
            self,
            "ApprovalTriggerErrors",
            alarm_name=f"{names.approval_trigger_function}-errors",
            alarm_description="The approval trigger failed; after two retries its event is in the queue",
            metric=function.metric_errors(period=cdk.Duration.minutes(5), statistic=cloudwatch.Stats.SUM),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

        topic_arn = (
            f"arn:{cdk.Aws.PARTITION}:sns:{names.build_region}:{names.build_account}:{names.approval_topic}"
        )
        self.undelivered_approvals = undelivered_approvals(
            self._subscription_region_scope(plan, governance), names, topic_arn
        )
        dead_letter_arn = self.format_arn(
            service="sqs", region=names.build_region, resource=names.undelivered_approvals_queue
        )
        topic = sns.Topic.from_topic_arn(self, "ApprovalTopic", topic_arn)
        subscription = topic.add_subscription(
            subscriptions.LambdaSubscription(
                function,
                # By ARN: the queue may be in another stack and region, where no reference reaches.
                dead_letter_queue=sqs.Queue.from_queue_arn(
                    self, "UndeliveredApprovalsQueue", dead_letter_arn
                ),
            )
        )
        subscription.node.add_dependency(self.undelivered_approvals)
        return function

    def _subscription_region_scope(self, plan: GroupPlan, governance: Governance) -> Construct:
        """Where the dead-letter queue goes: here, or a stack of its own in the topic's region.

        SNS wants the queue in the subscriber's account (the tooling account) and the topic's region.
        """
        names = plan.names
        if names.build_region == self.region:
            return self
        stage = cdk.Stage.of(self)
        assert stage is not None  # an App is a Stage too
        stack = GovernedStack(
            stage,
            "UndeliveredApprovals",
            env=cdk.Environment(account=self.account, region=names.build_region),
            governance=governance,
            stack_name=plan.stack_name("undelivered-approvals"),
            description="SageMaker model CICD: approvals SNS could not deliver to the approval trigger",
        )
        self.add_stack_dependency(stack, "The subscription sends what it cannot deliver to this queue")
        return stack
