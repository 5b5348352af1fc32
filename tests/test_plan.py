"""plan.py: the short plan printed after a synth, built in-process from the README example's settings
(that every documented synth prints it, and no template, is test_docs')."""

from __future__ import annotations

from names import infra_pipeline
from plan import deployment_plan
from settings import load_settings
from tests.conftest import seedfarmer_environment


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
