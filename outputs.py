"""What the module tells other modules: a small ``metadata`` output and one SSM parameter per group.

Seedfarmer stores the ``metadata`` output in SSM (8 KB at most, see README "Scale"), so it holds only
what does not grow with the groups: the infra pipeline and where the per-group detail lives. Each
group's detail goes into a Standard-tier SSM parameter (4 KB) in the tooling account that the top stack
creates, named ``<deployment-groups path><group>``, so any number of groups fits.
"""

from __future__ import annotations

import json

from settings import GroupPlan

GROUP_DETAIL_LIMIT = 4096
"""Characters a Standard-tier SSM parameter holds; the synth refuses a group whose detail is longer."""


def deployment_groups_path(stack_name: str) -> str:
    """The SSM path under which each group's detail parameter lives, ending with '/'."""
    return f"/{stack_name}/deployment-groups/"


def module_metadata(
    *,
    stack_name: str,
    infra_pipeline_name: str,
    infra_pipeline_arn: str,
    notification_topic_arn: str | None = None,
) -> dict[str, str]:
    """The ``metadata`` output: the same size whatever the number of groups.

    ``notification_topic_arn``: where the module publishes, with ``notifications`` only; other modules
    may subscribe to it.
    """
    metadata = {
        "InfraPipelineName": infra_pipeline_name,
        "InfraPipelineArn": infra_pipeline_arn,
        "DeploymentGroupsParameterPath": deployment_groups_path(stack_name),
    }
    if notification_topic_arn is not None:
        metadata["NotificationTopicArn"] = notification_topic_arn
    return metadata


def group_detail(plan: GroupPlan) -> dict[str, object]:
    """One group's names and accounts, as other modules and operators look them up."""
    names = plan.names
    return {
        "ModelBuildPipelineName": names.model_build_pipeline,
        "ModelDeployPipelineName": names.model_deploy_pipeline,
        "ApprovedModelParameterName": names.approved_model_parameter,
        "Endpoints": {
            target.name: names.endpoint(target.name, serverless=target.endpoint.serverless is not None)
            for target in plan.targets
        },
        "ModelPackageGroupName": names.model_package_group,
        "ArtifactsBucketName": names.artifacts_bucket,
        "ApprovalTopicArn": (
            f"arn:aws:sns:{names.build_region}:{names.build_account}:{names.approval_topic}"
        ),
        "BuildAccount": names.build_account,
        "BuildRegion": names.build_region,
        "DeployAccounts": [env.account for env in plan.group.deploy_environments],
    }


def to_json(value: object) -> str:
    """Deterministic JSON: sorted keys, so the same settings always give the same template."""
    return json.dumps(value, sort_keys=True)
