"""Tooling account: what every pipeline of the module shares: its artifact store and its synth step."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import Acknowledgment, Validations, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from settings import RepositorySettings
from stages.governance import Governance
from stages.nag import ARTIFACT_ACCESS_REASON, acknowledge, bucket_access, logical_id, roles_below
from stages.storage import access_logs_bucket, customer_managed_key, encrypted_bucket

PACKAGE_JSON = Path(__file__).resolve().parent.parent / "package.json"
EXACT_VERSION = re.compile(r"\d+\.\d+\.\d+")


@dataclass(frozen=True)
class CdkTools:
    """The CDK CLI and cdk-assets versions every CodeBuild step of the module's pipelines installs."""

    cli: str
    assets: str


@functools.cache
def pinned_cdk_tools() -> CdkTools:
    """The versions package.json pins, the one place they are set (read at synth, no network).

    The synth, CDK Pipelines' self-mutation and its asset publishing then all run the CLI and cdk-assets
    the user tested with, not whatever npm calls ``2`` or ``latest`` on the day a pipeline runs.
    """
    pins = json.loads(PACKAGE_JSON.read_text())["devDependencies"]
    tools = CdkTools(cli=pins["aws-cdk"], assets=pins["cdk-assets"])
    for package, version in (("aws-cdk", tools.cli), ("cdk-assets", tools.assets)):
        if not EXACT_VERSION.fullmatch(version):
            raise ValueError(f"{PACKAGE_JSON}: {package} must be pinned to an exact version, not {version!r}")
    return tools


BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
RUNTIMES = codebuild.BuildSpec.from_object(
    {"phases": {"install": {"runtime-versions": {"python": "3.12", "nodejs": "22"}}}}
)


def in_folder(path: str, *parts: str) -> str:
    """``parts`` below the module's folder of the infra repository (``.`` is its root)."""
    return "/".join(p for p in (path.strip("/"), *parts) if p and p != ".")


def synth_commands(path: str, *guards: str) -> list[str]:
    """Re-synthesize this module from the infra repository, with the pinned requirements and CLI."""
    commands = [] if path in {".", ""} else [f"cd {in_folder(path)}"]
    return [
        *commands,
        *guards,
        "pip install -r requirements.txt",
        f"npm install -g aws-cdk@{pinned_cdk_tools().cli}",
        "cdk synth",
    ]


def module_synth_step(
    source: pipelines.IFileSetProducer,
    path: str,
    carried_environment: Mapping[str, str],
    *,
    guards: tuple[str, ...] = (),
    variables: Mapping[str, codebuild.BuildEnvironmentVariable] | None = None,
    role_policy_statements: Sequence[iam.PolicyStatement] = (),
) -> pipelines.CodeBuildStep:
    """The synth step of the module's pipelines: this module, with the environment seedfarmer gave it."""
    return pipelines.CodeBuildStep(
        "Synth",
        input=source,
        commands=synth_commands(path, *guards),
        primary_output_directory=in_folder(path, "cdk.out"),
        env=dict(carried_environment),
        build_environment=codebuild.BuildEnvironment(
            build_image=BUILD_IMAGE, environment_variables=dict(variables or {})
        ),
        partial_build_spec=RUNTIMES,
        role_policy_statements=list(role_policy_statements) or None,
    )


class PipelineArtifactStore(Construct):
    """A pipeline's own artifact bucket, under a rotated customer-managed key, logging its access."""

    def __init__(self, scope: Construct, construct_id: str, *, access_logs_bucket_name: str) -> None:
        super().__init__(scope, construct_id)
        self.key = customer_managed_key(self, "Key", description="Encrypts pipeline artifacts")
        access_logs = s3.Bucket.from_bucket_name(self, "AccessLogs", access_logs_bucket_name)
        self.bucket = encrypted_bucket(
            self, "Bucket", key=self.key, access_logs=access_logs, logs_prefix="pipeline-artifacts/"
        )
        # The log bucket is the tooling stack's, whose policy admits every bucket of this account, or
        # the user's own (s3-access-logs-bucket-arn), whose policy the README asks them to set.
        Validations.of(self.bucket).acknowledge(
            Acknowledgment(
                id="Annotation::@aws-cdk/aws-s3:accessLogsPolicyNotAdded",
                reason="The access-log bucket's policy already admits this account's buckets.",
            )
        )

    def acknowledge_artifact_access(self, *scopes: IConstruct) -> None:
        """Acknowledge what CDK grants on this store to the roles below ``scopes`` (pipelines).

        The findings name this store's bucket, so they cover no other. On the pipeline rather than on
        each role below it: walking the tree for them took 2 s of a fifty-group synth, and the
        pipeline is the narrowest construct that holds them all.
        """
        findings = bucket_access(logical_id(self.bucket), ARTIFACT_ACCESS_REASON)
        for scope in scopes:
            acknowledge(scope, findings)


def complete_cross_region_support(pipeline: codepipeline.Pipeline, governance: Governance) -> None:
    """CDK's replication stacks for regions other than the pipeline's: logged, tagged, nag-clean."""
    stack = cdk.Stack.of(pipeline)
    for region, support in sorted(pipeline.cross_region_support.items()):
        for key, value in sorted(governance.tags.items()):
            cdk.Tags.of(support.stack).add(key, value)
            support.stack.tags.set_tag(key, value)
        logs = access_logs_bucket(support.stack, "AccessLogs")
        replication = support.replication_bucket.node.default_child
        assert isinstance(replication, s3.CfnBucket)
        replication.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=logs.bucket_name, log_file_prefix="replication/"
        )
        bucket_name = stack.resolve(support.replication_bucket.bucket_name)
        acknowledge(
            pipeline.role,
            {
                f"IAM5[Resource::arn:aws:s3:::{bucket_name}/*]": (
                    f"Objects of the pipeline's own artifact replication bucket in {region}."
                ),
                "IAM5[Resource::*]": (
                    "CDK grants the pipeline role the cross-region replication key, which lives in "
                    "the support stack and is known there only by alias; it cannot name the key's ARN."
                ),
            },
        )


def pipeline_source(
    scope: Construct, repository: RepositorySettings, branch: str, *, trigger_on_push: bool
) -> pipelines.CodePipelineSource:
    """A CDK Pipelines source: CodeCommit, or a hosted repository through its CodeConnections connection."""
    if repository.connection_arn:
        return pipelines.CodePipelineSource.connection(
            repository.name, branch, connection_arn=repository.connection_arn, trigger_on_push=trigger_on_push
        )
    repo = codecommit.Repository.from_repository_name(scope, "InfraRepository", repository.name)
    trigger = actions.CodeCommitTrigger.EVENTS if trigger_on_push else actions.CodeCommitTrigger.NONE
    return pipelines.CodePipelineSource.code_commit(repo, branch, trigger=trigger)


def push_triggered_source(
    scope: Construct,
    pipeline: codepipeline.Pipeline,
    repository: RepositorySettings,
    branch: str,
    output: codepipeline.Artifact,
) -> None:
    """Add a source stage to ``pipeline`` that runs it on pushes to ``branch``, and to no other branch."""
    action: codepipeline.IAction
    if repository.connection_arn:
        owner, _, repo = repository.name.partition("/")
        action = actions.CodeStarConnectionsSourceAction(
            action_name="ModelBuildRepository",
            connection_arn=repository.connection_arn,
            owner=owner,
            repo=repo,
            branch=branch,
            output=output,
            trigger_on_push=True,
        )
    else:
        action = actions.CodeCommitSourceAction(
            action_name="ModelBuildRepository",
            repository=codecommit.Repository.from_repository_name(
                scope, "ModelBuildRepository", repository.name
            ),
            branch=branch,
            output=output,
            trigger=actions.CodeCommitTrigger.EVENTS,
        )
    pipeline.add_stage(stage_name="Source", actions=[action])
    if repository.connection_arn:
        pipeline.add_trigger(
            provider_type=codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
            git_configuration=codepipeline.GitConfiguration(
                source_action=action,
                push_filter=[codepipeline.GitPushFilter(branches_includes=[branch])],
            ),
        )


def grant_connection_use(pipeline: codepipeline.Pipeline, repository: RepositorySettings) -> None:
    """CDK grants the source action the codestar-connections action; add its codeconnections twin."""
    if not repository.connection_arn:
        return
    source = pipeline.node.find_child("Source")
    for role in roles_below(source):
        role.add_to_policy(
            iam.PolicyStatement(
                sid="UseRepositoryConnection",
                actions=["codeconnections:UseConnection"],
                resources=[repository.connection_arn],
            )
        )
