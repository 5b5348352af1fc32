"""The model registry (stages/model_registry.py): shared with the group's deploy accounts only, kept or
emptied with the build account's data."""

from __future__ import annotations

import json

from tests.conftest import TOOLING_ACCOUNT, Synth


def test_model_registry_is_shared_with_deploy_accounts_only(example_synth: Synth) -> None:
    group = next(
        r["Properties"]
        for s, _, r in example_synth.resources("AWS::SageMaker::ModelPackageGroup")
        if s.account == "123456789015"
    )
    statements = group["ModelPackageGroupPolicy"]["Statement"]
    principals = json.dumps([s["Principal"] for s in statements])
    for account in ("123456789016", "123456789017"):
        assert f":iam::{account}:root" in principals
    assert TOOLING_ACCOUNT not in principals  # no pipeline of the tooling account reads the registry
    actions = {a for s in statements for a in s["Action"]}
    assert actions == {
        "sagemaker:DescribeModelPackageGroup",
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
        "sagemaker:CreateModel",
    }
