"""The build account's roles (stages/build_support_roles.py): the model build's access role and the SageMaker
execution role, neither able to approve a model."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match

from tests.conftest import TOOLING_ACCOUNT, Synth
from tests.template_harness import account_root, actions, resources, template


def _role_actions(synth: Synth, suffix: str, role_name_suffix: str) -> list[dict[str, Any]]:
    """Every Allow statement attached to the role whose name ends with ``role_name_suffix``."""
    roles = resources(synth, suffix, "AWS::IAM::Role")
    (role_id,) = [i for i, r in roles.items() if str(r.get("RoleName", "")).endswith(role_name_suffix)]
    statements = [s for p in roles[role_id].get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    for policy in resources(synth, suffix, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Roles"]:
            statements += policy["PolicyDocument"]["Statement"]
    return [s for s in statements if s["Effect"] == "Allow"]


def test_no_build_role_can_approve_a_model(example_synth: Synth) -> None:
    """Repository code runs as both roles; an approval would deploy to every environment."""
    suffix = "prod-deployment-group/BuildSupport"
    access = _role_actions(example_synth, suffix, "model-build-access")
    assert not [a for s in access for a in actions(s) if "ModelPackage" in a and a != "sagemaker:AddTags"]
    execution = _role_actions(example_synth, suffix, "sagemaker-exec")
    approving = [
        s for s in execution if any(a in ("sagemaker:UpdateModelPackage", "sagemaker:*") for a in actions(s))
    ]
    assert approving == []
    (create,) = [s for s in execution if "sagemaker:CreateModelPackage" in actions(s)]
    assert actions(create) == ["sagemaker:CreateModelPackage"]
    assert create["Condition"] == {"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}}


def test_access_role_writes_only_pipeline_code(example_synth: Synth) -> None:
    access = _role_actions(example_synth, "prod-deployment-group/BuildSupport", "model-build-access")
    s3_statements = [s for s in access if any(a.startswith("s3:") for a in actions(s))]
    (upload,) = s3_statements
    assert sorted(actions(upload)) == ["s3:GetObject", "s3:PutObject"]
    assert upload["Resource"]["Fn::Join"][1][1] == "/pipeline-code/*"


def test_build_account_role_trusts_only_the_model_build_project(example_synth: Synth) -> None:
    support = template(example_synth, "prod-deployment-group/BuildSupport")
    roles = support.find_resources(
        "AWS::IAM::Role", {"Properties": {"RoleName": Match.string_like_regexp("model-build-access$")}}
    )
    (role,) = roles.values()
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": account_root(TOOLING_ACCOUNT)}
    condition = json.dumps(statement["Condition"])
    assert "aws:PrincipalArn" in condition
    tooling = template(example_synth, "prod-deployment-group/ModelBuild")
    names = [r["Properties"].get("RoleName") for r in tooling.find_resources("AWS::IAM::Role").values()]
    assert any(n and n.endswith("model-build-project") and n in condition for n in names)
