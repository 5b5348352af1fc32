"""Offline: no credentials, no instance metadata, no sockets; the SDK gets the region it needs to import."""

from __future__ import annotations

import os
import socket

import pytest

OFFLINE = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "SAGEMAKER_VALIDATE_ROLE": "false",
}
os.environ.update(OFFLINE)

CONTRACT = {
    "AWS_REGION": "eu-west-1",
    "ASSUME_ROLE_ARN": "arn:aws:iam::222222222222:role/mlops-dev-model-build-access",
    "SAGEMAKER_PIPELINE_ROLE_ARN": "arn:aws:iam::222222222222:role/service-role/mlops-dev-sagemaker",
    "SAGEMAKER_PIPELINE_NAME": "mlops-dev-training",
    "SAGEMAKER_PIPELINE_DESCRIPTION": "Trains dev models on branch dev in dev",
    "MODEL_PACKAGE_GROUP_NAME": "mlops-dev-models",
    "ARTIFACT_BUCKET": "mlops-dev-artifacts-222222222222",
    "ARTIFACT_BUCKET_KMS_KEY": "arn:aws:kms:eu-west-1:222222222222:alias/mlops-dev-artifacts",
    "ENV_TYPE": "dev",
    "PROJECT_NAME": "mlops",
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach AWS fails the test instead of hanging or succeeding by accident."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def contract_environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in CONTRACT.items():
        monkeypatch.setenv(name, value)
    return CONTRACT
