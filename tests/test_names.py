"""names.py: a name past its service's limit keeps a readable prefix and a hash of the whole, so two long
names stay distinct, and short parts (an environment's name) are kept whole. Pure functions, no synth;
that the stacks use these names is asserted on their templates (test_endpoint, test_stack)."""

from __future__ import annotations

from names import SAGEMAKER_NAME, GroupNames

LONG_NAMES = GroupNames(
    prefix="Machine-Learning-Platform-Project-Production-Deployment-Name-Sagemaker-Model-Cicd-Module-Name-"
    "Very-Long-Mixed-Case-Deployment-Group-Name-For-Limits-Testing-X",
    build_account="123456789015",
    build_region="eu-west-1",
)
LONG_ENVIRONMENT = "Deploy-Env-With-A-Long-Name-Too"


def test_long_endpoint_names_are_shortened_but_distinct() -> None:
    endpoint = LONG_NAMES.endpoint(LONG_ENVIRONMENT)
    assert len(endpoint) == SAGEMAKER_NAME
    assert endpoint.startswith("machine-learning-platform")
    assert endpoint != LONG_NAMES.endpoint(f"{LONG_ENVIRONMENT}-2")
    assert LONG_NAMES.endpoint("prod").endswith("-prod")
