"""Offline: no credentials, no instance metadata, no sockets; the SDK gets the region it needs to import."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

OFFLINE = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "SAGEMAKER_VALIDATE_ROLE": "false",
    # xgboost's default of a thread per core crawls on a busy shared machine (30 s for what one
    # thread trains in under one); on a few hundred rows the model does not depend on it.
    "OMP_NUM_THREADS": "1",
}
os.environ.update(OFFLINE)

CONTRACT = {
    "BUILD_REGION": "eu-west-1",
    "ASSUME_ROLE_ARN": "arn:aws:iam::222222222222:role/mlops-dev-model-build-access",
    "SAGEMAKER_PIPELINE_ROLE_ARN": "arn:aws:iam::222222222222:role/service-role/mlops-dev-sagemaker",
    "SAGEMAKER_PIPELINE_NAME": "mlops-dev-training",
    "SAGEMAKER_PIPELINE_DESCRIPTION": "Trains dev models on branch dev in dev",
    "MODEL_PACKAGE_GROUP_NAME": "mlops-dev-models",
    "ARTIFACT_BUCKET": "mlops-dev-artifacts-222222222222",
    "ARTIFACT_BUCKET_KMS_KEY": "arn:aws:kms:eu-west-1:222222222222:alias/mlops-dev-artifacts",
    "ENV_TYPE": "dev",
    "PROJECT_NAME": "mlops",
    "PIPELINE_CODE_PREFIX": "pipeline-code",
    "MODEL_ARTIFACTS_PREFIX": "models",
    "SAMPLE_PAYLOADS_PREFIX": "samples",
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach AWS fails the test instead of hanging or succeeding by accident."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(autouse=True)
def telemetry(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """The SDK's usage events a test's code would have sent; none may be, in any test."""
    from sagemaker.core.telemetry import telemetry_logging  # the region is set above

    sent: list[object] = []
    monkeypatch.setattr(telemetry_logging, "_send_telemetry_request", lambda *event, **_: sent.append(event))
    yield sent
    assert sent == [], "the SDK sent usage telemetry"


@pytest.fixture
def contract_environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in CONTRACT.items():
        monkeypatch.setenv(name, value)
    return CONTRACT


def print_definition() -> dict[str, Any]:
    """The definition ``python -m pipelines.run --print-definition`` prints, parsed."""
    from pipelines import run  # imports the SDK: slow

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert run.main(["--print-definition"]) == 0
    parsed: dict[str, Any] = json.loads(printed.getvalue())
    return parsed


@dataclass(frozen=True)
class Build:
    """A definition and the SDK usage events sent while it was built."""

    definition: dict[str, Any]
    telemetry: list[object]


@pytest.fixture(scope="session")
def build() -> Build:
    """Built once for the session's tests: the SDK takes seconds to build it (most of them checking
    its config schema, on every lookup, because the session's config opts out of telemetry)."""
    from sagemaker.core.telemetry import telemetry_logging  # the region is set above

    sent: list[object] = []
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CONTRACT.items():
            patch.setenv(name, value)
        patch.setattr(telemetry_logging, "_send_telemetry_request", lambda *event, **_: sent.append(event))
        return Build(print_definition(), sent)


@pytest.fixture
def definition(build: Build) -> dict[str, Any]:
    return build.definition


def walk(node: object) -> Iterator[object]:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        yield from walk(child)


def steps(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step by name, the condition's branches included."""
    found = {}
    for node in walk(pipeline["Steps"]):
        if isinstance(node, dict) and "Name" in node and "Type" in node and "Arguments" in node:
            found[node["Name"]] = node
    return found


def script(name: str) -> ModuleType:
    """A job script from scripts/, loaded as the processing job runs it: a file, not a package module."""
    spec = importlib.util.spec_from_file_location(
        name, Path(__file__).resolve().parent.parent / "scripts" / f"{name}.py"
    )
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
