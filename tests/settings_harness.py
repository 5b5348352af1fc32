"""What the settings tests share: the README example as seedfarmer's variables, the rules' wording.

A helper module, not a test module.
"""

from __future__ import annotations

import copy
import json
import os
import re
from typing import Any

import pytest

from settings import (
    SettingsError,
    load_settings,
)

# The README example.
PARAMETERS: dict[str, Any] = {
    "infra-repo": {"host": "codecommit", "name": "cdk-infra-repo"},
    "model-build-repo": {"host": "codecommit", "name": "model-build-repo"},
    "deployment-groups": [
        {
            "name": "experimenation-deployment-group",
            "sourceBranch": "dev",
            "buildEnvironment": {
                "name": "experiment-env1",
                "account": "123456789012",
                "region": "us-east-1",
                "type": "dev",
            },
            "deployEnvironments": [
                {"name": "experiment-env2", "account": "123456789013", "type": "dev"},
                {"name": "experiment-env3", "account": "123456789014", "type": "dev"},
            ],
        },
        {
            "name": "prod-deployment-group",
            "sourceBranch": "main",
            "buildEnvironment": {
                "name": "prod-train-env",
                "account": "123456789015",
                "region": "us-east-1",
                "type": "preprod",
            },
            "deployEnvironments": [
                {"name": "prod-approval-env", "account": "123456789016", "type": "preprod"},
                {
                    "name": "prod-env",
                    "account": "123456789017",
                    "type": "prod",
                    "endpoint": {"initialInstanceCount": 2},
                },
            ],
        },
    ],
}
STRUCTURED = {"infra-repo", "model-build-repo", "deployment-groups", "tags", "notifications"}
BASELINE = {
    "SEEDFARMER_PARAMETER_INFRA_REPO": json.dumps(PARAMETERS["infra-repo"]),
    "SEEDFARMER_PARAMETER_MODEL_BUILD_REPO": json.dumps(PARAMETERS["model-build-repo"]),
    "SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS": json.dumps(PARAMETERS["deployment-groups"]),
    "SEEDFARMER_PROJECT_NAME": "mlops",
    "SEEDFARMER_DEPLOYMENT_NAME": "demo",
    "SEEDFARMER_MODULE_NAME": "sagemaker-model-cicd",
    "CDK_DEFAULT_ACCOUNT": "111111111111",
    "CDK_DEFAULT_REGION": "us-east-1",
}

# The rules as settings/ words them.
ACCOUNT = "must be 12 digits"
REGION = "must be an AWS region such as us-east-1"
TYPE = "must be 'dev', 'preprod' or 'prod'"
NAME = "must be 1-64 letters, digits or single hyphens, start with a letter and not end with a hyphen"
REPO = "must be a CodeCommit repository name: 1-100 letters, digits, '.', '_' or '-', not ending in '.git'"
BRANCH = (
    "must be a git branch name: no spaces, '~', '^', ':', '?', '*', '[', '\\', '..', '//' or '@{', "
    "no part starting with '.' or ending with '.lock', not starting with '-' or '/', "
    "not ending with '/' or '.', not '@' or 'HEAD'"
)
FOLDER = (
    "must be a relative folder inside the repository (letters, digits, '_', '-', '.' and '/'; "
    "no leading '/', no '..')"
)
SEEDFARMER_NAME = "must be 1-128 letters, digits or hyphens, starting with a letter or digit"
POLICY_NAME = "must be an IAM policy name (1-128 of letters, digits, +=,.@_-)"
POLICY_ARN = "must be an IAM policy ARN such as arn:aws:iam::123456789012:policy/boundary"
BUCKET_ARN = "must be an S3 bucket ARN such as arn:aws:s3:::my-access-logs"
INSTANCE = "must be a SageMaker instance type such as ml.m5.xlarge"
SSM = "must be an SSM parameter name such as /my-project/vpc/sg/id"
TAG_KEY = "key must not start with 'aws:' (reserved for AWS)"
TAG_CHARACTERS = "may hold only letters, digits, spaces and _ . : / = + - @ (AWS's tag characters)"
UNKNOWN = "unknown key (check its spelling)"
KNOWN = (
    "known: infra-repo, model-build-repo, deployment-groups, deployment-groups-file, "
    "permissions-boundary-name, s3-access-logs-bucket-arn, tags, notifications"
)
PROJECT_REQUIRED = (
    "SEEDFARMER_PROJECT_NAME: is required "
    "(seedfarmer sets it; outside seedfarmer, set SEEDFARMER_PROJECT_NAME)"
)

REMOVE = object()
G0, G1 = "deployment-groups[0]", "deployment-groups[1]"
B0, B1 = f"{G0}.buildEnvironment", f"{G1}.buildEnvironment"
ENDPOINT = f"{G1}.deployEnvironments[1].endpoint"
SCALING = {"minCapacity": 1, "maxCapacity": 4, "targetInvocationsPerInstance": 100}

HOSTS = "'codecommit', 'github', 'github-enterprise', 'gitlab', 'gitlab-self-managed' or 'bitbucket'"


@pytest.fixture(autouse=True, name="env")
def readme_example_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Nothing but the README example, whatever the shell running the tests exports."""
    for name in list(os.environ):
        if name.startswith(("SEEDFARMER_", "CDK_DEFAULT_")):
            monkeypatch.delenv(name)
    for name, value in BASELINE.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def variable(parameter: str) -> str:
    return "SEEDFARMER_PARAMETER_" + parameter.replace("-", "_").upper()


def set_parameter(env: pytest.MonkeyPatch, parameter: str, value: Any) -> None:
    """As seedfarmer does: structured values JSON-encoded, strings as they are."""
    env.setenv(variable(parameter), json.dumps(value) if parameter in STRUCTURED else value)


def edit(env: pytest.MonkeyPatch, path: str, value: Any) -> None:
    """Set (or with REMOVE delete) what ``path``, in the user's spelling, names inside the baseline."""
    parameter, *steps = [
        int(index) if index else key for index, key in re.findall(r"\[(\d+)\]|([^.\[\]]+)", path)
    ]
    if not steps:
        if value is REMOVE:
            env.delenv(variable(str(parameter)))
        else:
            set_parameter(env, str(parameter), value)
        return
    document = copy.deepcopy(PARAMETERS[str(parameter)])
    target = document
    for step in steps[:-1]:
        target = target[step] if isinstance(step, int) else target.setdefault(step, {})
    if value is REMOVE:
        del target[steps[-1]]
    else:
        target[steps[-1]] = value
    set_parameter(env, str(parameter), document)


def problems() -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(os.environ)
    return caught.value.problems
