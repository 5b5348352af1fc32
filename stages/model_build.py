"""Tooling account: a group's model build pipeline.

The model-build repository at the group's branch goes to a CodeBuild project that assumes the build
account's access role and runs that repository's own ``buildspec.yml``, which creates or updates and
starts the SageMaker pipeline that trains on the build account's data and registers a model version.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from blocks import LOG_RETENTION, cdk_values
from blocks.governance import Governance, GovernedStack
from blocks.nag import acknowledge, codebuild_default_findings, logical_id_in_arn
from blocks.pipelines import BUILD_IMAGE, PipelineArtifactStore, grant_connection_use, push_triggered_source
from names import MODEL_ARTIFACTS_PREFIX, PIPELINE_CODE_PREFIX, SAMPLE_PAYLOADS_PREFIX, GroupNames
from settings import DeploymentGroupSettings, RepositorySettings

BUILD_CACHE_PREFIX = "build-cache"
"""Where the model build project keeps its S3 cache, in the pipeline's artifact bucket."""


def model_build_variables(
    names: GroupNames, group: DeploymentGroupSettings, project_name: str
) -> dict[str, str]:
    """The contract with the model-build repository: what its buildspec receives."""
    partition = cdk_values.partition()
    account, region = names.build_account, names.build_region
    return {
        # Not AWS_REGION: CodeBuild sets that itself, to the tooling account's region.
        "BUILD_REGION": region,
        "ASSUME_ROLE_ARN": f"arn:{partition}:iam::{account}:role/{names.model_build_access_role}",
        "SAGEMAKER_PIPELINE_ROLE_ARN": (
            f"arn:{partition}:iam::{account}:role/service-role/{names.sagemaker_execution_role}"
        ),
        "SAGEMAKER_PIPELINE_NAME": names.sagemaker_pipeline,
        "SAGEMAKER_PIPELINE_DESCRIPTION": (
            f"Trains {group.name} models on branch {group.source_branch} in {group.build_environment.name}"
        ),
        "MODEL_PACKAGE_GROUP_NAME": names.model_package_group,
        "ARTIFACT_BUCKET": names.artifacts_bucket,
        "ARTIFACT_BUCKET_KMS_KEY": f"arn:{partition}:kms:{region}:{account}:{names.artifacts_key_alias}",
        "PIPELINE_CODE_PREFIX": PIPELINE_CODE_PREFIX,
        "MODEL_ARTIFACTS_PREFIX": MODEL_ARTIFACTS_PREFIX,
        "SAMPLE_PAYLOADS_PREFIX": SAMPLE_PAYLOADS_PREFIX,
        "ENV_TYPE": group.build_environment.type.value,
        "PROJECT_NAME": project_name,
    }


class ModelBuildStack(GovernedStack):
    """One group's model build pipeline, triggered by pushes to its branch."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: cdk.Environment,
        governance: Governance,
        names: GroupNames,
        group: DeploymentGroupSettings,
        repository: RepositorySettings,
        project_name: str,
        access_logs_bucket_name: str,
        stack_name: str,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=env,
            governance=governance,
            stack_name=stack_name,
            description=f"SageMaker model CICD: model build pipeline of {group.name}",
        )
        store = PipelineArtifactStore(self, "ArtifactStore", access_logs_bucket_name=access_logs_bucket_name)
        variables = model_build_variables(names, group, project_name)

        project_role = iam.Role(
            self,
            "ProjectRole",
            role_name=names.model_build_project_role,
            assumed_by=cdk_values.service_principal("codebuild.amazonaws.com"),
            description=f"Runs {group.name}'s model build; may only assume its build-account role",
        )
        project_role.add_to_policy(
            iam.PolicyStatement(
                sid="AssumeBuildAccountRole",
                actions=["sts:AssumeRole"],
                resources=[variables["ASSUME_ROLE_ARN"]],
            )
        )
        log_group = logs.LogGroup(self, "BuildLogs", retention=LOG_RETENTION)
        project = codebuild.PipelineProject(
            self,
            "Project",
            description=f"Starts {names.sagemaker_pipeline} in {names.build_account}/{names.build_region}",
            role=project_role,
            encryption_key=store.key,
            environment=codebuild.BuildEnvironment(
                build_image=BUILD_IMAGE, compute_type=codebuild.ComputeType.SMALL
            ),
            environment_variables={
                name: codebuild.BuildEnvironmentVariable(value=value) for name, value in variables.items()
            },
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group)
            ),
            timeout=cdk_values.hours(8),
            # Whatever the repository's buildspec lists under cache.paths (the example: pip's downloads)
            # is kept between builds here, in the pipeline's own artifact bucket.
            cache=codebuild.Cache.bucket(store.bucket, prefix=BUILD_CACHE_PREFIX),
        )

        source = codepipeline.Artifact("ModelBuildSource")
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_name=names.model_build_pipeline,
            pipeline_type=codepipeline.PipelineType.V2,
            artifact_bucket=store.bucket,
        )
        push_triggered_source(self, self.pipeline, repository, group.source_branch, source)
        self.pipeline.add_stage(
            stage_name="Build",
            actions=[actions.CodeBuildAction(action_name="TrainAndRegister", project=project, input=source)],
        )
        grant_connection_use(self.pipeline, repository)
        artifact_access = store.artifact_access_findings(self)
        acknowledge(self.pipeline, artifact_access)
        # One acknowledgment per construct: each is two jsii round trips.
        project_id = logical_id_in_arn(self, project.project_arn)
        acknowledge(project_role, {**artifact_access, **codebuild_default_findings(self, project_id)})
