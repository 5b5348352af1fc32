"""An endpoint's execution role (stages/endpoint_role.py): what SageMaker does as the model, no more."""

from __future__ import annotations

import json

import pytest

from tests.endpoint_harness import (
    BUILD_ACCOUNT,
    EXECUTION_ROLE,
    IMAGE_ACCOUNT,
    IMAGE_REPOSITORY,
    NAMES,
    PROD_ACCOUNT,
    REGION,
    Synthesized,
    approved,
    execution_role_statements,
)


@pytest.fixture(scope="module")
def synth(endpoint_synth: Synthesized) -> Synthesized:
    """The harness's endpoint stacks, synthesized once for the session."""
    return endpoint_synth


def test_execution_role_is_least_privilege(synth: Synthesized) -> None:
    role = synth.one("Prod", "AWS::IAM::Role", EXECUTION_ROLE)
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role
    assert "FullAccess" not in json.dumps(synth.templates["Prod"])
    assert role["PermissionsBoundary"] == f"arn:aws:iam::{PROD_ACCOUNT}:policy/OrgBoundary"
    statements = execution_role_statements(synth, "Prod")
    bucket = f"arn:aws:s3:::{NAMES.artifacts_bucket}"
    assert statements["ReadModelArtifacts"]["Action"] == "s3:GetObject"
    # The models prefix only, as the build account's bucket policy grants it: not training data, not code.
    assert statements["ReadModelArtifacts"]["Resource"] == f"{bucket}/models/*"
    assert "ListModelArtifacts" not in statements
    assert role["RoleName"] == NAMES.endpoint_execution_role("prod")
    decrypt = statements["DecryptModelArtifactsThroughS3"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Resource"] == f"arn:aws:kms:{REGION}:{BUILD_ACCOUNT}:key/*"
    assert decrypt["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": NAMES.artifacts_key_alias},
        "StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"},
    }
    assert statements["DescribeApprovedModelPackage"]["Resource"] == approved(3).model_package_arn
    # The approved image's one repository, not any repository of any account.
    image_repository = f"arn:aws:ecr:{REGION}:{IMAGE_ACCOUNT}:repository/{IMAGE_REPOSITORY}"
    assert statements["PullModelImage"]["Resource"] == image_repository
    assert statements["WriteEndpointLogs"]["Resource"][0].endswith(
        f":log-group:/aws/sagemaker/Endpoints/{NAMES.endpoint('prod')}"
    )
    assert statements["PublishEndpointMetrics"]["Condition"] == {
        "StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/Endpoints*"]}
    }
    wildcard = {sid for sid, s in statements.items() if s["Resource"] == "*"}
    assert wildcard == {"AuthenticateToEcr", "PublishEndpointMetrics", "DescribeEndpointNetwork"}
