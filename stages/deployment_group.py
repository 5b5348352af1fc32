"""Tooling account: one deployment group's stage of the infra pipeline, and the check that opens its wave.

The stage holds the group's build-support stack (its build account) and its model build and model deploy
pipeline stacks (the tooling account), in that order; the infra pipeline deploys it.
"""

from __future__ import annotations

import shlex

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import pipelines
from constructs import Construct

from blocks import cdk_values
from blocks.governance import Governance, GovernedStack
from blocks.notifications import Notifications
from blocks.pipelines import in_folder
from blocks.training_failures import (
    forward_training_failures,
    notify_training_failures,
    relay_training_failures,
)
from names import cdk_lookup_role_arn
from settings import GroupPlan, InfraRepositorySettings, RepositorySettings, ToolingEnvironment
from stages.build_support import BuildSupportStack, EndpointReader
from stages.model_build import ModelBuildStack
from stages.model_deploy import ModelDeployStack


class DeploymentGroupStage(cdk.Stage):
    """One group's stacks: build support in its build account, then its pipelines in the tooling account."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tooling_environment: ToolingEnvironment,
        infra_repo: InfraRepositorySettings,
        model_build_repo: RepositorySettings,
        carried_environment: dict[str, str],
        plan: GroupPlan,
        governance: Governance,
        access_logs_bucket_name: str,
        notifications: Notifications | None = None,
    ) -> None:
        tooling = cdk.Environment(account=tooling_environment.account, region=tooling_environment.region)
        super().__init__(scope, construct_id, env=tooling)
        names = plan.names
        build = plan.group.build_environment
        self.build_support = BuildSupportStack(
            self,
            "BuildSupport",
            env=cdk.Environment(account=build.account, region=build.region),
            governance=governance,
            names=names,
            tooling_region=tooling_environment.region,
            endpoint_readers=[
                EndpointReader(account=target.account, role_name=names.endpoint_execution_role(target.name))
                for target in plan.targets
            ],
            sample_readers=[
                EndpointReader(account=target.account, role_name=names.smoke_test_role(target.name))
                for target in plan.targets
            ],
            retain=plan.keeps_build_data,
            stack_name=plan.stack_name("build-support"),
        )
        self.model_build = ModelBuildStack(
            self,
            "ModelBuild",
            env=tooling,
            governance=governance,
            names=names,
            group=plan.group,
            repository=model_build_repo,
            project_name=plan.project_name,
            access_logs_bucket_name=access_logs_bucket_name,
            stack_name=plan.stack_name("model-build"),
        )
        self.model_build.add_stack_dependency(
            self.build_support, "The build project assumes a build-account role"
        )
        self.model_deploy = ModelDeployStack(
            self,
            "ModelDeploy",
            env=tooling,
            governance=governance,
            plan=plan,
            infra_repo=infra_repo,
            carried_environment=carried_environment,
            access_logs_bucket_name=access_logs_bucket_name,
            stack_name=plan.stack_name("model-deploy"),
        )
        self.model_deploy.add_stack_dependency(
            self.build_support, "The approval trigger subscribes to the build account's topic"
        )
        self.notification_relay: GovernedStack | None = None
        if notifications is not None:
            self._notify(notifications, plan, tooling_environment, governance)

    def _notify(
        self,
        notifications: Notifications,
        plan: GroupPlan,
        tooling: ToolingEnvironment,
        governance: Governance,
    ) -> None:
        """The group's pipelines and its failed trainings, to the module's notifications.

        A failed training is an event in the build account and region; EventBridge sends it to another
        account's bus only within one region, so it travels build account -> tooling account (build
        region) -> tooling region, where the rule publishing to the topic lives.
        """
        names = plan.names
        forward_training_failures(self.build_support, names=names, tooling_account=tooling.account)
        notify_training_failures(self.model_build, names=names, topic_arn=notifications.topic_arn)
        notifications.add_pipeline_rule(self.model_build.pipeline, pipeline_name=names.model_build_pipeline)
        notifications.add_pipeline_rule(
            self.model_deploy.pipeline.pipeline, pipeline_name=names.model_deploy_pipeline
        )
        if names.build_region != tooling.region:
            self.notification_relay = GovernedStack(
                self,
                "NotificationRelay",
                env=cdk.Environment(account=tooling.account, region=names.build_region),
                governance=governance,
                stack_name=plan.stack_name("notification-relay"),
                description=f"SageMaker model CICD: failed trainings of {plan.name}, to {tooling.region}",
            )
            relay_training_failures(self.notification_relay, names=names, tooling_region=tooling.region)

    @property
    def stacks(self) -> list[cdk.Stack]:
        """What the infra pipeline deploys for this group, CDK's cross-region support stacks included."""
        return [child for child in self.node.children if isinstance(child, cdk.Stack)]


def preflight_step(
    stages: list[DeploymentGroupStage], source: pipelines.IFileSetProducer, path: str
) -> pipelines.CodeBuildStep:
    """Stops a wave whose new build-support stacks would collide with resources an earlier deploy retained."""
    arguments: list[str] = []
    lookup_roles = []
    for stage in stages:
        support = stage.build_support
        names = support.names
        if arguments:
            arguments.append("--")
        arguments += [
            names.build_account,
            names.build_region,
            support.stack_name,
            names.model_package_group,
            names.model_image_repository,
            names.artifacts_bucket,
            names.access_logs_bucket,
        ]
        lookup_roles.append(
            cdk_lookup_role_arn(cdk_values.partition(), names.build_account, names.build_region)
        )
    return pipelines.CodeBuildStep(
        "Preflight",
        input=source,
        commands=[shlex.join(["bash", in_folder(path, "scripts", "preflight.sh"), *arguments])],
        # The script builds the lookup roles' ARNs from it and has no default: aws-cn and aws-us-gov too.
        env={"AWS_PARTITION": cdk_values.partition()},
        role_policy_statements=[
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=sorted(set(lookup_roles)))
        ],
    )
