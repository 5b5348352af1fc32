"""Tooling account: the approval trigger, subscribed to the build account's approval topic.

It records an approved version in the group's SSM parameter and starts the deploy pipeline with it
(``functions/approval_trigger`` is its code); what it cannot take ends in queues with alarms
(:mod:`stages.failed_approvals`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from blocks import cdk_values
from blocks.governance import Governance, GovernedStack
from blocks.lambda_functions import module_function
from settings import GroupPlan
from stages.failed_approvals import failed_approvals, undelivered_approvals

if TYPE_CHECKING:
    from stages.model_deploy import ModelDeployStack


def approval_trigger(stack: ModelDeployStack, plan: GroupPlan, governance: Governance) -> lambda_.Function:
    """Records an approved version and starts the deploy pipeline; may do nothing else."""
    names = plan.names
    function, role = module_function(
        stack,
        "ApprovalTrigger",
        folder="approval_trigger",
        function_name=names.approval_trigger_function,
        description="Deploys approved model versions of this group",
        timeout=cdk_values.seconds(30),
        environment={
            "APPROVED_MODEL_PARAMETER": stack.parameter_name,
            "DEPLOY_PIPELINE_NAME": names.model_deploy_pipeline,
            "MODEL_PACKAGE_GROUP_NAME": names.model_package_group,
            "MODEL_PACKAGE_PARTITION": cdk_values.partition(),
            "MODEL_PACKAGE_ACCOUNT": names.build_account,
            "MODEL_PACKAGE_REGION": names.build_region,
        },
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="RecordApprovedModel", actions=["ssm:PutParameter"], resources=[stack.parameter_arn]
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="StartDeployPipeline",
            actions=["codepipeline:StartPipelineExecution"],
            resources=[stack.pipeline_arn],
        )
    )
    # To tell a duplicate delivery from a new approval: the newest unfinished execution's model.
    role.add_to_policy(
        iam.PolicyStatement(
            sid="FindPendingExecution",
            actions=["codepipeline:ListPipelineExecutions", "codepipeline:GetPipelineExecution"],
            resources=[stack.pipeline_arn],
        )
    )
    stack.failed_approvals = failed_approvals(stack, names, role)
    async_config = lambda_.CfnEventInvokeConfig(
        stack,
        "ApprovalTriggerAsync",
        function_name=function.function_name,
        qualifier="$LATEST",
        maximum_retry_attempts=2,
        destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
            on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(
                destination=stack.failed_approvals.queue.queue_arn
            )
        ),
    )
    # Lambda checks the role may send to the destination when the configuration is created.
    async_config.node.add_dependency(role)
    stack.trigger_errors = cloudwatch.Alarm(
        stack,
        "ApprovalTriggerErrors",
        alarm_name=f"{names.approval_trigger_function}-errors",
        alarm_description="The approval trigger failed; after two retries its event is in the queue",
        metric=function.metric_errors(period=cdk_values.minutes(5), statistic=cloudwatch.Stats.SUM),
        threshold=0,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )

    topic_arn = (
        f"arn:{cdk_values.partition()}:sns:{names.build_region}:{names.build_account}:{names.approval_topic}"
    )
    stack.undelivered_approvals = undelivered_approvals(
        _subscription_region_scope(stack, plan, governance), names, topic_arn
    )
    dead_letter_arn = stack.format_arn(
        service="sqs", region=names.build_region, resource=names.undelivered_approvals_queue
    )
    topic = sns.Topic.from_topic_arn(stack, "ApprovalTopic", topic_arn)
    subscription = topic.add_subscription(
        subscriptions.LambdaSubscription(
            function,
            # By ARN: the queue may be in another stack and region, where no reference reaches.
            dead_letter_queue=sqs.Queue.from_queue_arn(stack, "UndeliveredApprovalsQueue", dead_letter_arn),
        )
    )
    subscription.node.add_dependency(stack.undelivered_approvals)
    return function


def _subscription_region_scope(stack: ModelDeployStack, plan: GroupPlan, governance: Governance) -> Construct:
    """Where the dead-letter queue goes: here, or a stack of its own in the topic's region.

    SNS wants the queue in the subscriber's account (the tooling account) and the topic's region.
    """
    names = plan.names
    if names.build_region == stack.region_name:
        return stack
    stage = cdk.Stage.of(stack)
    assert stage is not None  # an App is a Stage too
    queue_stack = GovernedStack(
        stage,
        "UndeliveredApprovals",
        env=cdk.Environment(account=stack.account, region=names.build_region),
        governance=governance,
        stack_name=plan.stack_name("undelivered-approvals"),
        description="SageMaker model CICD: approvals SNS could not deliver to the approval trigger",
    )
    stack.add_stack_dependency(queue_stack, "The subscription sends what it cannot deliver to this queue")
    return queue_stack
