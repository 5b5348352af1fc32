"""Tooling account: what every pipeline of the module shares: its artifact store and its synth step."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import Acknowledgment, Validations, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from blocks.governance import Governance, GovernedStack, account_of, region_of
from blocks.nag import ARTIFACT_ACCESS_REASON, acknowledge, bucket_access, logical_id_in_arn, roles_below
from blocks.storage import access_logs_bucket, customer_managed_key, encrypted_bucket
from names import KMS_ALIAS, S3_BUCKET, bounded, cross_region_support_stack
from settings import RepositorySettings

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
RUNTIME_VERSIONS = {"python": "3.12", "nodejs": "22"}
RUNTIMES = codebuild.BuildSpec.from_object({"phases": {"install": {"runtime-versions": RUNTIME_VERSIONS}}})


def in_folder(path: str, *parts: str) -> str:
    """``parts`` below the module's folder of the infra repository (``.`` is its root)."""
    return "/".join(p for p in (path.strip("/"), *parts) if p and p != ".")


# Where pip and npm keep downloads in CodeBuild's standard images (builds run as root). The synth steps
# keep them between runs in an S3 cache ("Build caching in AWS CodeBuild", CodeBuild User Guide), so a run
# installs from the cache instead of PyPI and npm. https://docs.aws.amazon.com/codebuild/latest/userguide/build-caching.html
SYNTH_CACHE_PATHS = ("/root/.cache/pip/**/*", "/root/.npm/**/*")
SYNTH_BUILD_SPEC = codebuild.BuildSpec.from_object(
    {
        "phases": {"install": {"runtime-versions": RUNTIME_VERSIONS}},
        "cache": {"paths": list(SYNTH_CACHE_PATHS)},
    }
)
SYNTH_CACHE_PREFIX = "synth-cache"


def synth_commands(path: str, *guards: str) -> list[str]:
    """Re-synthesize this module from the infra repository, with the pinned requirements and CLI.

    The CLI comes from the module's own lock file (``npm ci``), the version the user tested with.
    """
    commands = [] if path in {".", ""} else [f"cd {in_folder(path)}"]
    return [
        *commands,
        *guards,
        "pip install -r requirements.txt",
        "npm ci --no-audit --no-fund",
        "npx cdk synth",
    ]


def module_synth_step(
    source: pipelines.IFileSetProducer,
    path: str,
    carried_environment: Mapping[str, str],
    *,
    guards: tuple[str, ...] = (),
    variables: Mapping[str, codebuild.BuildEnvironmentVariable] | None = None,
    role_policy_statements: Sequence[iam.PolicyStatement] = (),
    cache_bucket: s3.IBucket,
) -> pipelines.CodeBuildStep:
    """The synth step of the module's pipelines: this module, with the environment seedfarmer gave it.

    Its pip and npm downloads are cached in the pipeline's own artifact bucket (``cache_bucket``), whose
    objects the step may already read and write.
    """
    return pipelines.CodeBuildStep(
        "Synth",
        input=source,
        commands=synth_commands(path, *guards),
        primary_output_directory=in_folder(path, "cdk.out"),
        env=dict(carried_environment),
        build_environment=codebuild.BuildEnvironment(
            build_image=BUILD_IMAGE, environment_variables=dict(variables or {})
        ),
        partial_build_spec=SYNTH_BUILD_SPEC,
        cache=codebuild.Cache.bucket(cache_bucket, prefix=SYNTH_CACHE_PREFIX),
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

    def artifact_access_findings(self, stack: cdk.Stack | None = None) -> dict[str, str]:
        """The findings on what CDK grants on this store; they name its bucket, so they cover no other.

        ``stack``: this store's, when the caller holds it (one jsii round trip less).
        """
        stack = cdk.Stack.of(self) if stack is None else stack
        return bucket_access(logical_id_in_arn(stack, self.bucket.bucket_arn), ARTIFACT_ACCESS_REASON)

    def acknowledge_artifact_access(self, *scopes: IConstruct, stack: cdk.Stack | None = None) -> None:
        """Acknowledge what CDK grants on this store to the roles below ``scopes`` (pipelines).

        On the pipeline rather than on each role below it: walking the tree for them took 2 s of a
        fifty-group synth, and the pipeline is the narrowest construct that holds them all.
        """
        findings = self.artifact_access_findings(stack)
        for scope in scopes:
            acknowledge(scope, findings)


def artifact_buckets(
    pipeline_stack: cdk.Stack, store: PipelineArtifactStore, regions: Iterable[str], governance: Governance
) -> dict[str, Any]:
    """A pipeline's bucket arguments: its store, and per other region it acts in a bucket to copy through.

    CDK would make these itself, in ``<stack>-support-<region>`` stacks, retained under names fixed from
    the stack's path, so the first deploy after a destroy would fail with "already exists". They hold
    only copies of pipeline artifacts, so these are emptied and deleted with their stack instead; the
    key goes with them. Same stack names as CDK's (the stack-name limit leaves room for the suffix).
    """
    account, home = account_of(pipeline_stack), region_of(pipeline_stack)
    others = sorted(set(regions) - {home})
    if not others:
        return {"artifact_bucket": store.bucket}
    stage = cdk.Stage.of(pipeline_stack)
    assert stage is not None  # an App is a Stage too
    buckets: dict[str, s3.IBucket] = {home: store.bucket}
    for region in others:
        name = cross_region_support_stack(pipeline_stack.stack_name, region)
        support = GovernedStack(
            stage,
            f"{pipeline_stack.node.id}Replication-{region}",
            env=cdk.Environment(account=account, region=region),
            governance=governance,
            stack_name=name,
            description=f"SageMaker model CICD: artifact copies in {region} for {pipeline_stack.stack_name}",
        )
        key = customer_managed_key(
            support, "ReplicationKey", description=f"Encrypts pipeline artifacts in {region}", retain=False
        )
        # Other stacks (the pipeline's, in another region) know the key by its alias, a name fixed here.
        alias = kms.Alias(
            support,
            "ReplicationKeyAlias",
            alias_name=f"alias/{bounded(f'{name}-{account}', KMS_ALIAS - len('alias/'))}",
            target_key=key,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        logs = access_logs_bucket(support, "AccessLogs", retain=False)
        buckets[region] = encrypted_bucket(
            support,
            "ReplicationBucket",
            key=alias,
            access_logs=logs,
            bucket_name=bounded(
                f"{pipeline_stack.stack_name}-repl-{account}-{region}", S3_BUCKET, lowercase=True
            ),
            logs_prefix="replication/",
            retain=False,
        )
        pipeline_stack.add_stack_dependency(support, "The pipeline copies its artifacts through this bucket")
    # CDK takes the pipeline region's store from this map when it is given.
    return {"cross_region_replication_buckets": buckets}


def acknowledge_replication(pipeline: codepipeline.Pipeline, stack: cdk.Stack | None = None) -> None:
    """What CDK grants the pipeline role on the replication buckets and keys of other regions.

    ``stack``: the pipeline's, when the caller holds it (one jsii round trip less).
    """
    stack = cdk.Stack.of(pipeline) if stack is None else stack
    for region, support in sorted(pipeline.cross_region_support.items()):
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
