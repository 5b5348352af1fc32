"""Tooling account: the module's one top-level stack, holding the infra pipeline.

The infra pipeline (CDK Pipelines) re-synthesizes this module from the infra repository, updates itself,
then, per deployment group, deploys the group's build-support stack into its build account and its
model build and model deploy pipelines into the tooling account. Groups share stages ("waves"), as many
per stage as CodePipeline's action limit allows, each wave opening with a preflight check.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from aws_cdk import pipelines
from constructs import Construct

from blocks import LOG_RETENTION
from blocks.governance import Governance, GovernedStack
from blocks.nag import acknowledge, acknowledge_codebuild_defaults
from blocks.notifications import Notifications, topic_name
from blocks.pipelines import (
    BUILD_IMAGE,
    RUNTIMES,
    PipelineArtifactStore,
    acknowledge_replication,
    artifact_buckets,
    grant_connection_use,
    module_synth_step,
    pinned_cdk_tools,
    pipeline_source,
)
from blocks.storage import access_logs_bucket
from blocks.training_failures import topic_rule_name
from names import CODEPIPELINE, S3_BUCKET, bounded, infra_pipeline
from outputs import GROUP_DETAIL_LIMIT, deployment_groups_path, group_detail, module_metadata, to_json
from quotas import STAGE_ACTIONS, check_pipeline, pack
from settings import ApplicationSettings, GroupPlan, SettingsError
from stages.deployment_group import DeploymentGroupStage, preflight_step


class MlopsCicdStack(GovernedStack):
    """The infra pipeline and, per deployment group, the stage that lays down its CICD."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: ApplicationSettings) -> None:
        tooling = settings.tooling
        sf = settings.seedfarmer
        params = settings.parameters
        governance = Governance(
            tags=settings.resource_tags,
            tooling_account=tooling.account,
            boundary_name=params.permissions_boundary_name,
            tooling_boundary_arn=sf.permissions_boundary_arn,
        )
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=tooling.account, region=tooling.region),
            governance=governance,
            stack_name=settings.stack_name,
            description="SageMaker model CICD: infra pipeline (seedfarmer module)",
        )
        self.parameters = params
        """What the templates are checked against after the synth (quotas.check_templates)."""
        logs_bucket_name = self._tooling_access_logs(settings)
        store = PipelineArtifactStore(self, "ArtifactStore", access_logs_bucket_name=logs_bucket_name)

        infra = params.infra_repo
        source = pipeline_source(self, infra, infra.branch, trigger_on_push=True)
        synth = module_synth_step(source, infra.path, settings.carried_environment, cache_bucket=store.bucket)
        self.pipeline_name = infra_pipeline(settings.stack_name)
        tools = pinned_cdk_tools()
        self.pipeline = pipelines.CodePipeline(
            self,
            "InfraPipeline",
            pipeline_name=self.pipeline_name,
            pipeline_type=cdk.aws_codepipeline.PipelineType.V2,
            synth=synth,
            self_mutation=True,
            cli_version=tools.cli,
            cdk_assets_cli_version=tools.assets,
            # The stage stacks of every group go to its build region, through that region's bucket.
            **artifact_buckets(
                self,
                store,
                (plan.names.build_region for plan in settings.groups),
                governance,
            ),
            # Cross-account deploys read artifacts with the buckets' own keys; none is CDK's.
            cross_account_keys=True,
            enable_key_rotation=True,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE),
                partial_build_spec=RUNTIMES,
                logging=codebuild.LoggingOptions(
                    cloud_watch=codebuild.CloudWatchLoggingOptions(
                        log_group=cdk.aws_logs.LogGroup(self, "PipelineBuildLogs", retention=LOG_RETENTION)
                    )
                ),
            ),
        )

        self.notifications = self._notifications(settings)
        self.groups: dict[str, DeploymentGroupStage] = {}
        group_details = Construct(self, "DeploymentGroupDetail")
        for plan in settings.groups:
            self.groups[plan.name] = DeploymentGroupStage(
                self,
                bounded(plan.name, CODEPIPELINE),
                tooling_environment=tooling,
                infra_repo=infra,
                model_build_repo=params.model_build_repo,
                carried_environment=settings.carried_environment,
                plan=plan,
                governance=governance,
                access_logs_bucket_name=logs_bucket_name,
                notifications=self.notifications,
            )
            _group_detail_parameter(group_details, settings.stack_name, plan)
        self._add_group_waves(list(self.groups.values()), source, infra.path)

        self.pipeline.build_pipeline()
        if self.notifications is not None:
            self.notifications.add_pipeline_rule(self.pipeline.pipeline, pipeline_name=self.pipeline_name)
        check_pipeline(self.pipeline.pipeline, "infra pipeline")
        grant_connection_use(self.pipeline.pipeline, infra)
        self._acknowledge_pipeline_findings(store)
        self._acknowledge_asset_publishing()
        acknowledge_replication(self.pipeline.pipeline, self)
        cdk.CfnOutput(
            self,
            "metadata",
            description="Seedfarmer module metadata",
            value=to_json(
                module_metadata(
                    stack_name=settings.stack_name,
                    infra_pipeline_name=self.pipeline_name,
                    infra_pipeline_arn=self.format_arn(
                        service="codepipeline", resource=self.pipeline_name, region=tooling.region
                    ),
                    notification_topic_arn=self.notifications.topic_arn if self.notifications else None,
                )
            ),
        )

    def _notifications(self, settings: ApplicationSettings) -> Notifications | None:
        """The module's topic (or the user's) and Slack channel; nothing at all without ``notifications``."""
        given = settings.parameters.notifications
        if given is None:
            return None
        return Notifications(
            self,
            "Notifications",
            topic_name=topic_name(settings.stack_name),
            emails=given.emails,
            topic_arn=given.topic_arn,
            slack_channel_configuration_arn=given.slack_channel_configuration_arn,
            training_rule_names=[topic_rule_name(plan.names) for plan in settings.groups],
        )

    def _add_group_waves(
        self, stages: list[DeploymentGroupStage], source: pipelines.IFileSetProducer, path: str
    ) -> None:
        """Groups side by side in as few pipeline stages as CodePipeline's 50 actions per stage allow.

        Each of a group's stacks takes two actions (prepare and deploy a change set); within a group
        they keep their order, so build support still deploys before the pipelines that refer to it.
        A preflight check opens every wave (one action), so nothing of it deploys over retained data.
        """
        weights = [2 * len(stage.stacks) for stage in stages]
        for number, batch in enumerate(pack(weights, STAGE_ACTIONS - 1), start=1):
            wave = self.pipeline.add_wave(
                f"DeploymentGroups-{number}", pre=[preflight_step([stages[i] for i in batch], source, path)]
            )
            for index in batch:
                wave.add_stage(stages[index])

    def _acknowledge_pipeline_findings(self, store: PipelineArtifactStore) -> None:
        store.acknowledge_artifact_access(self.pipeline, stack=self)
        projects: list[tuple[codebuild.IProject, iam.IRole | None]] = []
        for project in self.pipeline.node.find_all():
            if isinstance(project, codebuild.Project) and (role := project.role) is not None:
                projects.append((project, role))
        acknowledge_codebuild_defaults(self, projects)
        role = self.pipeline.self_mutation_project.role
        assert role is not None
        acknowledge(
            role,
            {
                "IAM5[Resource::*]": (
                    "Self-mutation reads stack state (cloudformation:DescribeStacks) and bucket listings "
                    "for CDK's asset checks, neither of which takes a narrower resource."
                ),
                f"IAM5[Resource::arn:*:iam::{self.account}:role/*]": (
                    "Assumes only this account's CDK bootstrap roles: the statement is conditioned on "
                    "the iam:ResourceTag/aws-cdk:bootstrap-role tag."
                ),
            },
        )

    def _acknowledge_asset_publishing(self) -> None:
        """CDK Pipelines' one asset-publishing role, shared by asset projects it names only at build time."""
        assets = self.pipeline.node.try_find_child("Assets")
        role = assets.node.try_find_child("FileRole") if assets else None
        if role is None:
            return
        where = f"{self.region}:{self.account}"
        acknowledge(
            role,
            {
                "IAM5[Resource::*]": (
                    "codebuild:StartBuild/BatchGetBuilds/StopBuild for the asset projects CDK Pipelines "
                    "creates in this stack; CodeBuild has no narrower resource for the shared role."
                ),
                f"IAM5[Resource::arn:aws:codebuild:{where}:report-group/*]": (
                    "Report groups of the asset projects, named per build."
                ),
                f"IAM5[Resource::arn:aws:logs:{where}:log-group:/aws/codebuild/*]": (
                    "Log groups of the asset projects, which share this role; this account and region only."
                ),
            },
        )

    def _tooling_access_logs(self, settings: ApplicationSettings) -> str:
        """The tooling account's access-log bucket: the user's, or one this stack creates and deletes."""
        arn = settings.parameters.s3_access_logs_bucket_arn
        if arn:
            return arn.split(":::", 1)[1]
        tooling = settings.tooling
        name = bounded(
            f"{settings.stack_name}-logs-{tooling.account}-{tooling.region}", S3_BUCKET, lowercase=True
        )
        # Its name is fixed (the pipelines' stage stacks log to it by name), so a retained bucket would make
        # the next deploy after a destroy fail with "already exists": it goes with the module instead.
        # Logs that must outlive the module go to the user's own bucket (s3-access-logs-bucket-arn).
        access_logs_bucket(self, "AccessLogsBucket", bucket_name=name, retain=False)
        return name


def _group_detail_parameter(scope: Construct, stack_name: str, plan: GroupPlan) -> ssm.StringParameter:
    """The group's detail in the tooling account, outside the metadata seedfarmer stores (README "Scale")."""
    value = to_json(group_detail(plan))
    group = plan.group
    if len(value) > GROUP_DETAIL_LIMIT:
        raise SettingsError(
            [
                f"deployment-groups[{plan.index}] ({group.name}): its detail would be {len(value)} "
                "characters; "
                f"its SSM parameter holds {GROUP_DETAIL_LIMIT} (fewer deploy environments fit)"
            ]
        )
    return ssm.StringParameter(
        scope,
        group.name,
        parameter_name=deployment_groups_path(stack_name) + group.name,
        string_value=value,
        tier=ssm.ParameterTier.STANDARD,
        description=f"Deployment group {group.name}: pipelines, endpoints, registry and accounts (JSON)",
    )
