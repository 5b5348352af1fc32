"""Build account: what a group's training needs and what its approval announces.

Artifacts bucket and key, the model registry shared with the deploy accounts, SageMaker's execution
role, the role the tooling account's model build project assumes, and the approval topic that
EventBridge feeds when someone approves a model version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

from names import MODEL_ARTIFACTS_PREFIX, PIPELINE_CODE_PREFIX, GroupNames
from stages.functions import module_function
from stages.governance import Governance, GovernedStack
from stages.nag import acknowledge, bucket_access, logical_id
from stages.storage import access_logs_bucket, customer_managed_key, encrypted_bucket, removal_policy

APPROVAL_EVENT_DETAIL_TYPE = "SageMaker Model Package State Change"

# SageMaker Studio reads pipeline metrics and reports straight from the bucket.
_STUDIO_CORS = s3.CorsRule(
    allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD],
    allowed_origins=["https://*.sagemaker.aws"],
    allowed_headers=["*"],
    exposed_headers=[
        "ETag",
        "x-amz-delete-marker",
        "x-amz-id-2",
        "x-amz-request-id",
        "x-amz-server-side-encryption",
        "x-amz-version-id",
    ],
)


@dataclass(frozen=True)
class EndpointReader:
    """The endpoint execution role of one of the group's environments, which reads its model artifacts."""

    account: str
    role_name: str


@jsii.implements(events.IRuleTarget)
class _TopicTarget:
    """Send events to a topic whose policy this stack writes itself, with a source-ARN condition.

    What EventBridge cannot deliver (after its retries) goes to ``dead_letter_queue`` instead of vanishing.
    """

    def __init__(self, topic: sns.ITopic, dead_letter_queue: sqs.IQueue) -> None:
        self._topic = topic
        self._dead_letter_queue = dead_letter_queue

    def bind(self, rule: IRuleRef, _id: str | None = None) -> events.RuleTargetConfig:
        self._topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgePublishesApprovals",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self._topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule.rule_ref.rule_arn}},
            )
        )
        self._dead_letter_queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeKeepsUndeliveredApprovals",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self._dead_letter_queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule.rule_ref.rule_arn}},
            )
        )
        return events.RuleTargetConfig(
            arn=self._topic.topic_arn,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self._dead_letter_queue.queue_arn),
        )


def _sagemaker_arn(names: GroupNames) -> str:
    """The ARN prefix of the build account's SageMaker resources, as cdk-nag prints it."""
    return f"arn:aws:sagemaker:{names.build_region}:{names.build_account}"


def _registry_versions(names: GroupNames) -> dict[str, str]:
    return {
        f"IAM5[Resource::{_sagemaker_arn(names)}:model-package/{names.model_package_group}/*]": (
            "Versions of this group's one model package group, numbered as they are registered."
        )
    }


class BuildSupportStack(GovernedStack):
    """Everything a group's build account must hold before its model build pipeline can run."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: cdk.Environment,
        governance: Governance,
        names: GroupNames,
        tooling_region: str,
        endpoint_readers: Sequence[EndpointReader],
        retain: bool,
        stack_name: str,
    ) -> None:
        """``retain``: a preprod or prod build account, whose trained models outlive the stack.

        ``endpoint_readers``: the endpoint execution roles of the group's environments, by fixed name; those
        in other accounts are granted read of model artifacts and images here (same-account ones need only
        their own identity policy).
        """
        super().__init__(
            scope,
            construct_id,
            env=env,
            governance=governance,
            stack_name=stack_name,
            description="SageMaker model CICD: build-account support (artifacts, registry, roles, approvals)",
        )
        tooling = governance.tooling_account
        others = sorted(
            {(r.account, r.role_name) for r in endpoint_readers if r.account != names.build_account}
        )
        readers = sorted({account for account, _ in others})
        reader_role_arns = [f"arn:{cdk.Aws.PARTITION}:iam::{a}:role/{role}" for a, role in others]

        self.retain = retain
        self.names = names
        self.artifacts_key = customer_managed_key(
            self, "ArtifactsKey", description=f"Encrypts {names.artifacts_bucket}", retain=retain
        )
        self.artifacts_key.add_alias(names.artifacts_key_alias)
        logs = access_logs_bucket(
            self, "AccessLogsBucket", bucket_name=names.access_logs_bucket, retain=retain
        )
        self.artifacts_bucket = encrypted_bucket(
            self,
            "ArtifactsBucket",
            key=self.artifacts_key,
            access_logs=logs,
            bucket_name=names.artifacts_bucket,
            logs_prefix="artifacts/",
            retain=retain,
        )
        self.artifacts_bucket.add_cors_rule(
            allowed_methods=_STUDIO_CORS.allowed_methods,
            allowed_origins=_STUDIO_CORS.allowed_origins,
            allowed_headers=_STUDIO_CORS.allowed_headers,
            exposed_headers=_STUDIO_CORS.exposed_headers,
        )
        self._share_model_artifacts(readers, reader_role_arns, names)
        self.image_repository = self._image_repository(names, readers, reader_role_arns)

        self.model_package_group = self._model_registry(names, readers)
        self.sagemaker_role = self._sagemaker_execution_role(names)
        self.model_build_access_role = self._model_build_access_role(names, tooling)
        self.approval_topic = self._approval_topic(names, tooling, tooling_region)

    def _share_model_artifacts(self, readers: list[str], role_arns: list[str], names: GroupNames) -> None:
        """Other accounts' endpoint roles read model artifacts, nothing else: not training data, not code.

        The roles do not exist yet when this stack deploys, and S3 and KMS refuse a policy naming a role
        that does not exist, so the grant is to their accounts, conditioned on the roles' fixed ARNs.
        The tooling account gets nothing: no pipeline of it reads or writes this bucket.
        """
        if not readers:
            return
        bucket, key = self.artifacts_bucket, self.artifacts_key
        only_endpoint_roles = {"ArnEquals": {"aws:PrincipalArn": role_arns}}
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EndpointRolesReadModelArtifacts",
                principals=[iam.AccountPrincipal(a) for a in readers],
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{MODEL_ARTIFACTS_PREFIX}/*")],
                conditions=only_endpoint_roles,
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EndpointRolesDecryptModelArtifactsThroughS3",
                principals=[iam.AccountPrincipal(a) for a in readers],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={
                    **only_endpoint_roles,
                    "StringEquals": {"kms:ViaService": f"s3.{names.build_region}.amazonaws.com"},
                },
            )
        )

    def _image_repository(
        self, names: GroupNames, readers: list[str], role_arns: list[str]
    ) -> ecr.Repository:
        """Custom inference images, pulled by the group's endpoint roles in other accounts (same region)."""
        repository = ecr.Repository(
            self,
            "InferenceImages",
            repository_name=names.model_image_repository,
            encryption=ecr.RepositoryEncryption.KMS,
            encryption_key=self.artifacts_key,
            image_scan_on_push=True,
            # A tag once served always means the same image: a prod endpoint can be rebuilt from it.
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            # Untagged layers are no image anyone deploys; tagged images are kept, as models are.
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description="Untagged images are leftovers of pushes",
                    tag_status=ecr.TagStatus.UNTAGGED,
                    max_image_age=cdk.Duration.days(14),
                )
            ],
            removal_policy=removal_policy(self.retain),
            empty_on_delete=not self.retain,
        )
        if readers:
            repository.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="EndpointRolesPullImages",
                    principals=[iam.AccountPrincipal(a) for a in readers],
                    actions=[
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchCheckLayerAvailability",
                    ],
                    conditions={"ArnEquals": {"aws:PrincipalArn": role_arns}},
                )
            )
        return repository

    def _model_registry(self, names: GroupNames, readers: list[str]) -> sagemaker.CfnModelPackageGroup:
        """The group's registry; the deploy accounts may read it and build models from it."""
        group_arn = self.format_arn(
            service="sagemaker", resource="model-package-group", resource_name=names.model_package_group
        )
        packages_arn = self.format_arn(
            service="sagemaker", resource="model-package", resource_name=f"{names.model_package_group}/*"
        )
        policy = None
        if readers:
            principals = {"AWS": [f"arn:{cdk.Aws.PARTITION}:iam::{a}:root" for a in readers]}
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "OtherAccountsReadGroup",
                        "Effect": "Allow",
                        "Principal": principals,
                        "Action": ["sagemaker:DescribeModelPackageGroup"],
                        "Resource": group_arn,
                    },
                    {
                        "Sid": "OtherAccountsUseVersions",
                        "Effect": "Allow",
                        "Principal": principals,
                        "Action": [
                            "sagemaker:DescribeModelPackage",
                            "sagemaker:ListModelPackages",
                            "sagemaker:CreateModel",
                        ],
                        "Resource": packages_arn,
                    },
                ],
            }
        group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=names.model_package_group,
            model_package_group_description=f"Models trained by {names.prefix}",
            model_package_group_policy=policy,
        )
        if self.retain:
            group.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        # In every environment type, so that turning dev into preprod updates it instead of deleting it.
        self._empty_registry_on_delete(group, names)
        return group

    def _empty_registry_on_delete(self, group: sagemaker.CfnModelPackageGroup, names: GroupNames) -> None:
        """SageMaker refuses to delete a group holding versions: a dev stack's deletion removes them first.

        The handler acts only when its ``DeleteVersionsWithStack`` property says so (dev) and the stack
        itself is being deleted; a preprod or prod group is retained and this resource never deletes.
        """
        function, role = module_function(
            self,
            "RegistryCleanup",
            folder="registry_cleanup",
            description=f"Empties {names.model_package_group} before CloudFormation deletes it",
            timeout=cdk.Duration.minutes(15),
        )
        versions = self.format_arn(
            service="sagemaker", resource="model-package", resource_name=f"{names.model_package_group}/*"
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DeleteVersions", actions=["sagemaker:DeleteModelPackage"], resources=[versions]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(sid="ListVersions", actions=["sagemaker:ListModelPackages"], resources=["*"])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadOwnStackStatus", actions=["cloudformation:DescribeStacks"], resources=[self.stack_id]
            )
        )
        cleanup = cdk.CustomResource(
            self,
            "RegistryCleanupOnDelete",
            service_token=function.function_arn,
            resource_type="Custom::ModelRegistryCleanup",
            properties={
                "ModelPackageGroupName": names.model_package_group,
                "DeleteVersionsWithStack": "false" if self.retain else "true",
            },
        )
        # Deleted before the group it empties.
        cleanup.node.add_dependency(group)
        acknowledge(
            role,
            {
                **_registry_versions(names),
                "IAM5[Resource::*]": "sagemaker:ListModelPackages has no resource-level permission.",
            },
        )

    def _sagemaker_execution_role(self, names: GroupNames) -> iam.Role:
        """What the SageMaker pipeline's jobs run as: this group's data, registry and logs only."""
        role = iam.Role(
            self,
            "SageMakerExecutionRole",
            role_name=names.sagemaker_execution_role,
            path="/service-role/",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Runs the SageMaker pipeline's processing and training jobs",
        )
        self.artifacts_bucket.grant_read_write(role)
        jobs = [
            self.format_arn(service="sagemaker", resource=kind, resource_name="*")
            for kind in ("processing-job", "training-job")
        ]
        role.add_to_policy(
            iam.PolicyStatement(
                sid="RunJobs",
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                resources=jobs,
            )
        )
        self._allow_pending_registrations(role, names)
        # Jobs encrypt their volumes with the group's key; SageMaker creates the grant for them.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="GrantJobVolumesTheKey",
                actions=["kms:CreateGrant", "kms:DescribeKey"],
                resources=[self.artifacts_key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PassItselfToJobs",
                actions=["iam:PassRole"],
                resources=[role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(sid="PullImages", actions=["ecr:GetAuthorizationToken"], resources=["*"])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PullImageLayers",
                actions=[
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                resources=[f"arn:{cdk.Aws.PARTITION}:ecr:{names.build_region}:*:repository/*"],
            )
        )
        log_groups = self.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteJobLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[log_groups, f"{log_groups}:log-stream:*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PublishJobMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "SageMaker*"]}},
            )
        )
        region, account = names.build_region, names.build_account
        acknowledge(
            role,
            {
                **bucket_access(
                    logical_id(self.artifacts_bucket),
                    "Read/write on this group's artifacts bucket and key only.",
                ),
                "IAM5[Resource::*]": (
                    "ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level "
                    "permissions; metrics are limited to SageMaker namespaces by condition."
                ),
                f"IAM5[Resource::arn:<AWS::Partition>:ecr:{region}:*:repository/*]": (
                    "Training and processing images live in AWS-owned and user repositories not known in "
                    "advance; pulls only, in this region."
                ),
                f"IAM5[Resource::arn:aws:sagemaker:{region}:{account}:processing-job/*]": (
                    "Job names are generated per pipeline execution; this account and region only."
                ),
                f"IAM5[Resource::arn:aws:sagemaker:{region}:{account}:training-job/*]": (
                    "Job names are generated per pipeline execution; this account and region only."
                ),
                f"IAM5[Resource::arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/*]": (
                    "SageMaker names its job log groups under /aws/sagemaker/ itself."
                ),
                f"IAM5[Resource::arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/*:log-stream:*]": (
                    "SageMaker names one log stream per job instance."
                ),
                **_registry_versions(names),
            },
        )
        return role

    def _allow_pending_registrations(self, role: iam.Role, names: GroupNames) -> None:
        """Register versions awaiting a person's approval; never approve one (no UpdateModelPackage).

        The pipeline's jobs run repository code as this role; an approval would deploy everywhere. IAM can
        say so: ``sagemaker:ModelApprovalStatus`` is a condition key of CreateModelPackage (Service
        Authorization Reference, Amazon SageMaker AI); a request without the field has no key and is denied.
        """
        registry = [
            self.format_arn(
                service="sagemaker", resource="model-package-group", resource_name=names.model_package_group
            ),
            self.format_arn(
                service="sagemaker", resource="model-package", resource_name=f"{names.model_package_group}/*"
            ),
        ]
        role.add_to_policy(
            iam.PolicyStatement(
                sid="RegisterVersionsPendingApproval",
                actions=["sagemaker:CreateModelPackage"],
                resources=registry,
                conditions={"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadRegistry",
                actions=[
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:ListModelPackages",
                    "sagemaker:AddTags",
                ],
                resources=registry,
            )
        )

    def _model_build_access_role(self, names: GroupNames, tooling: str) -> iam.Role:
        """Assumed by the tooling account's model build project (and nothing else) to run training."""
        project_role_arn = f"arn:{cdk.Aws.PARTITION}:iam::{tooling}:role/{names.model_build_project_role}"
        role = iam.Role(
            self,
            "ModelBuildAccessRole",
            role_name=names.model_build_access_role,
            assumed_by=iam.AccountPrincipal(tooling).with_conditions(
                {"ArnEquals": {"aws:PrincipalArn": project_role_arn}}
            ),
            description="Lets the tooling account's model build project run this group's SageMaker pipeline",
            max_session_duration=cdk.Duration.hours(1),
        )
        pipeline_arn = self.format_arn(
            service="sagemaker", resource="pipeline", resource_name=names.sagemaker_pipeline
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ManageTrainingPipeline",
                actions=[
                    "sagemaker:CreatePipeline",
                    "sagemaker:UpdatePipeline",
                    "sagemaker:DescribePipeline",
                    "sagemaker:StartPipelineExecution",
                    "sagemaker:DescribePipelineExecution",
                    "sagemaker:ListPipelineExecutionSteps",
                    "sagemaker:AddTags",
                    # The SDK's upsert reads a pipeline's tags to keep them when it updates it.
                    "sagemaker:ListTags",
                ],
                resources=[pipeline_arn, f"{pipeline_arn}/*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PassExecutionRoleToSageMaker",
                actions=["iam:PassRole"],
                resources=[self.sagemaker_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        # Repository code runs as this role: it uploads the pipeline's job scripts, and reads nothing else.
        code = self.artifacts_bucket.arn_for_objects(f"{PIPELINE_CODE_PREFIX}/*")
        role.add_to_policy(
            iam.PolicyStatement(
                sid="UploadPipelineCode", actions=["s3:PutObject", "s3:GetObject"], resources=[code]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="EncryptPipelineCodeThroughS3",
                # Decrypt too: S3 needs it to assemble a multipart upload.
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[self.artifacts_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{names.build_region}.amazonaws.com"}},
            )
        )
        self.image_repository.grant_push(role)
        acknowledge(
            role,
            {
                f"IAM5[Resource::<{logical_id(self.artifacts_bucket)}.Arn>/{PIPELINE_CODE_PREFIX}/*]": (
                    "Job scripts under the pipeline-code prefix only, stored by content digest."
                ),
                f"IAM5[Resource::{_sagemaker_arn(names)}:pipeline/{names.sagemaker_pipeline}/*]": (
                    "Executions of this group's one SageMaker pipeline, whose ids are generated per run."
                ),
                "IAM5[Resource::*]": "ecr:GetAuthorizationToken has no resource-level permission.",
            },
        )
        return role

    def _approval_topic(self, names: GroupNames, tooling: str, tooling_region: str) -> sns.Topic:
        """Approved versions of this group's models, for the tooling account's deploy trigger."""
        key = customer_managed_key(
            self,
            "ApprovalTopicKey",
            description=f"Encrypts {names.approval_topic} and its dead-letter queue",
            retain=self.retain,
        )
        # With the AWS-managed SNS key EventBridge cannot publish, and approvals would vanish silently.
        # No source condition: "Adding the aws:SourceAccount and aws:SourceArn to a AWS KMS policy is not
        # supported for EventBridge-to-encrypted topics" (SNS Developer Guide, key management). The key
        # serves this topic and its dead-letter queue only, and the topic policy keeps aws:SourceArn.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgePublishesEncrypted",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        topic = sns.Topic(
            self,
            "ApprovalTopic",
            topic_name=names.approval_topic,
            master_key=key,
            enforce_ssl=True,
        )
        trigger_function = names.approval_trigger_function
        trigger = f"arn:{cdk.Aws.PARTITION}:lambda:{tooling_region}:{tooling}:function:{trigger_function}"
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ToolingAccountSubscribesItsTrigger",
                principals=[iam.AccountPrincipal(tooling)],
                actions=["sns:Subscribe"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"sns:Protocol": "lambda", "sns:Endpoint": trigger}},
            )
        )
        rule = events.Rule(
            self,
            "ModelApprovedRule",
            description=f"Approved versions of {names.model_package_group}",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[APPROVAL_EVENT_DETAIL_TYPE],
                detail={
                    "ModelPackageGroupName": [names.model_package_group],
                    "ModelApprovalStatus": ["Approved"],
                },
            ),
        )
        dead_letters = self._approval_dead_letter_queue(key)
        rule.add_target(_TopicTarget(topic, dead_letters))
        cloudwatch.Alarm(
            self,
            "ApprovalDeliveryFailed",
            alarm_description=(
                f"EventBridge could not deliver an approval of {names.model_package_group} to its topic; "
                "the event is kept in this stack's ApprovalDeadLetterQueue"
            ),
            metric=cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="FailedInvocations",
                dimensions_map={"RuleName": rule.rule_name},
                statistic="Sum",
                period=cdk.Duration.minutes(5),
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        return topic

    def _approval_dead_letter_queue(self, key: kms.IKey) -> sqs.Queue:
        """Approval events EventBridge gave up on, kept 14 days for a replay (README, deploy path).

        EventBridge requires the queue in the rule's account and region; it encrypts with the topic's key,
        which already lets EventBridge use it.
        """
        queue = sqs.Queue(
            self,
            "ApprovalDeadLetterQueue",
            # A generated name: a retained queue under a fixed name would block the redeploy after a destroy.
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            removal_policy=removal_policy(self.retain),
        )
        acknowledge(queue, {"SQS3": "This queue is itself the dead-letter queue of the approval rule."})
        return queue
