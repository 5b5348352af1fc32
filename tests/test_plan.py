"""plan.py: the short plan printed after a synth, built in-process from the README example's settings
(that every documented synth prints it, and no template, is test_docs')."""

from __future__ import annotations

import json

from names import infra_pipeline
from plan import deployment_plan
from settings import load_settings
from tests.conftest import approved_model_environment, seedfarmer_environment


def test_the_plan_names_what_goes_where_and_which_deployments_wait_for_a_human() -> None:
    settings = load_settings(seedfarmer_environment())
    log = "\n".join(deployment_plan(settings, infra_pipeline_name=infra_pipeline(settings.stack_name))) + "\n"
    assert "Plan: mlops-demo-models-sagemaker-model-cicd in tooling account 111111111111 (us-east-1)" in log
    assert "  as seedfarmer module models-sagemaker-model-cicd of deployment demo, project mlops\n" in log
    assert "  group prod-deployment-group: trains in 123456789015 (us-east-1, preprod)" in log
    assert (
        "      1. preprod side by side:\n"
        "         -> prod-train-env: 123456789015 (us-east-1, preprod)\n"
        "         -> prod-approval-env: 123456789016 (us-east-1, preprod)\n"
        "      2. prod, after a manual approval:\n"
        "         -> prod-env: 123456789017 (us-east-1, prod)\n"
    ) in log
    assert "model-build-repo@dev (CodeCommit)" in log


def _plan_after_approval(image_uri: str | None = None) -> list[str]:
    environment = seedfarmer_environment(extra=approved_model_environment("prod-deployment-group"))
    if image_uri is not None:
        info = json.loads(environment["APPROVED_MODEL_INFO"]) | {"imageUri": image_uri}
        environment["APPROVED_MODEL_INFO"] = json.dumps(info)
    settings = load_settings(environment)
    return deployment_plan(settings, infra_pipeline_name=infra_pipeline(settings.stack_name))


def test_an_approved_image_in_another_account_is_named_under_its_group_only() -> None:
    """Whether that registry lets the endpoint roles pull is its own policy, which no synth can see."""
    plan = _plan_after_approval()
    notes = [(index, line) for index, line in enumerate(plan) if line.startswith("    note: ")]
    assert [line for _, line in notes] == [
        "    note: the approved image is in account 683313688378 (sagemaker-xgboost); endpoints can pull it "
        "only if that registry's policy lets their execution roles (AWS's own SageMaker image registries do)"
    ]
    groups = [line for line in plan[: notes[0][0]] if line.startswith("  group ")]
    assert groups[-1].startswith("  group prod-deployment-group:")


def test_an_approved_image_in_the_build_account_needs_no_note() -> None:
    plan = _plan_after_approval("123456789015.dkr.ecr.us-east-1.amazonaws.com/churn:7")
    assert not [line for line in plan if "note:" in line]
