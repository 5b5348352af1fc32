"""The smoke test script, run as the deploy pipeline's CodeBuild step runs it, against moto.

The tooling account's credentials assume the smoke role of a deploy account; moto gives the assumed
session that account, so the endpoint, package and samples below exist only where the role leads. The
endpoint's region differs from the default region, so a client without an explicit region would miss them.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import boto3
import botocore.handlers
import botocore.loaders
import botocore.session
import pytest
import requests  # type: ignore[import-untyped]
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ReadTimeoutError
from moto.sagemaker.models import sagemaker_backends
from moto.sagemakerruntime.models import sagemakerruntime_backends

from tests.conftest import fake_aws_credentials, offline_aws

SCRIPT = Path(__file__).resolve().parents[1] / "functions" / "smoke_test" / "index.py"

TOOLING_REGION = "us-east-1"
REGION: Literal["eu-west-1"] = "eu-west-1"
DEPLOY_ACCOUNT = "222222222222"
ROLE_ARN = f"arn:aws:iam::{DEPLOY_ACCOUNT}:role/demo-dev-smoke"
ENDPOINT = "demo-dev"
CONFIG = "EndpointConfig-new"
OLD_CONFIG = "EndpointConfig-old"
GROUP = "demo-models"
BUCKET = "demo-artifacts-222222222222-eu-west-1"
SAMPLES_KEY = "samples/demo-training/executions/abc/samples/payload.tar.gz"
ROWS = {"payload.csv": b"1.0,0.0,3.5\n2.0,1.0,0.5\n"}


def load_script() -> ModuleType:
    """index.py as CodeBuild runs it: its own folder first on sys.path, so its sibling modules import."""
    spec = importlib.util.spec_from_file_location("smoke_test_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return module


smoke = load_script()
smoke_arguments = sys.modules["smoke_arguments"]


class FakeClock:
    """perf_counter as the script reads it: each reading ``step`` seconds after the one before."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.now = 100.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def archive(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(content)
            tar.addfile(member, io.BytesIO(content))
    return buffer.getvalue()


def deploy_account() -> boto3.Session:
    """The deploy account, as moto maps assumed-role credentials to the role's account."""
    credentials = boto3.client("sts", region_name=TOOLING_REGION).assume_role(
        RoleArn=ROLE_ARN, RoleSessionName="setup"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


@pytest.fixture(scope="module")
def deploy_world() -> Iterator[boto3.Session]:
    """Tooling credentials by default; the deploy account holds the endpoint serving the new config.

    Built once for the module (each test resets what tests change: see ``aws``).
    """
    with pytest.MonkeyPatch.context() as monkeypatch, offline_aws():
        fake_aws_credentials(monkeypatch, TOOLING_REGION)
        session = deploy_account()
        sagemaker = session.client("sagemaker", region_name=REGION)
        sagemaker.create_model(
            ModelName="model",
            ExecutionRoleArn=f"arn:aws:iam::{DEPLOY_ACCOUNT}:role/demo-dev-endpoint",
            PrimaryContainer={"Image": "123.dkr.ecr.eu-west-1.amazonaws.com/xgboost:1"},
        )
        for config in (OLD_CONFIG, CONFIG):
            sagemaker.create_endpoint_config(
                EndpointConfigName=config,
                ProductionVariants=[
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": "model",
                        "InitialInstanceCount": 1,
                        "InstanceType": "ml.m5.xlarge",
                    }
                ],
            )
        sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=CONFIG)
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        session.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield session


SERVICE_MODELS = botocore.loaders.create_loader()


def session_sharing_service_models(**options: Any) -> boto3.Session:
    """``boto3.Session`` as the script calls it, reading service models through one loader for the module.

    Each new session would parse SageMaker's service model again: most of a test's time, none of its subject.
    """
    core = botocore.session.get_session()
    core.register_component("data_loader", SERVICE_MODELS)
    return boto3.session.Session(botocore_session=core, **options)


@pytest.fixture
def aws(deploy_world: boto3.Session, monkeypatch: pytest.MonkeyPatch) -> boto3.Session:
    """The deploy account as each test starts: the endpoint in service on the new config, nothing invoked."""
    monkeypatch.setattr(smoke.boto3, "Session", session_sharing_service_models)
    endpoint = sagemaker_backends[DEPLOY_ACCOUNT][REGION].endpoints[ENDPOINT]
    endpoint.endpoint_config_name = CONFIG
    endpoint.endpoint_status = "InService"
    endpoint.failure_reason = None
    runtime = sagemakerruntime_backends[DEPLOY_ACCOUNT][REGION]
    runtime.results.clear()
    runtime.results_queue.clear()
    return deploy_world


def register(session: boto3.Session, *, samples: dict[str, bytes] | None = ROWS) -> str:
    """A version of the group, with the samples as its SamplePayloadUrl unless None."""
    extra: dict[str, Any] = {}
    if samples is not None:
        session.client("s3", region_name=REGION).put_object(
            Bucket=BUCKET, Key=SAMPLES_KEY, Body=archive(samples)
        )
        extra["SamplePayloadUrl"] = f"s3://{BUCKET}/{SAMPLES_KEY}"
    arn = session.client("sagemaker", region_name=REGION).create_model_package(
        ModelPackageGroupName=GROUP,
        InferenceSpecification={
            "Containers": [{"Image": "123.dkr.ecr.eu-west-1.amazonaws.com/xgboost:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus="Approved",
        **extra,
    )["ModelPackageArn"]
    return str(arn)


def answers(*bodies: str) -> None:
    """What the endpoint answers, in order, set through moto's documented API."""
    results = [{"Body": body, "ContentType": "text/csv"} for body in bodies]
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
        json={"account_id": DEPLOY_ACCOUNT, "region": REGION, "results": results},
        timeout=5,
    )


def invocations() -> int:
    """Distinct requests the deploy account's endpoints answered (moto files them under its own key)."""
    results = sagemakerruntime_backends[DEPLOY_ACCOUNT][REGION].results
    return sum(len(answered) for answered in results.values())


def environment(package_arn: str, **overrides: str) -> dict[str, str]:
    """The variables the deploy pipeline's step sets, the approved model as its base64 record."""
    record = json.dumps({"modelPackageArn": package_arn, "modelDataUrl": "s3://b/k", "imageUri": "i"})
    return {
        "SMOKE_ENDPOINT_NAME": ENDPOINT,
        "SMOKE_ENDPOINT_CONFIG_NAME": CONFIG,
        "SMOKE_ENDPOINT_REGION": REGION,
        "SMOKE_ROLE_ARN": ROLE_ARN,
        "APPROVED_MODEL_INFO": base64.b64encode(record.encode()).decode(),
        "SMOKE_MAX_LATENCY_MS": "1000",
        **overrides,
    }


def run(
    capsys: pytest.CaptureFixture[str],
    environ: dict[str, str],
    argv: list[str] | None = None,
    clock: Callable[[], float] | None = None,
) -> tuple[int, list[str], str]:
    code = smoke.main(argv or [], environ, clock or FakeClock(0.05))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_a_healthy_endpoint_answering_its_samples_passes(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    package = register(aws, samples={"a.csv": b"1,2,3\n", "b.csv": b"4,5,6\n"})
    answers("0.5", "0.7")
    code, lines, err = run(capsys, environment(package))
    assert (code, err) == (0, "")
    assert lines == [
        f"PASS endpoint status: {ENDPOINT} is InService",
        f"PASS endpoint config: {ENDPOINT} serves {CONFIG}, the config this stage deployed",
        "PASS invoke a.csv: answered in 50 ms (6 bytes of text/csv in, 3 bytes out)",
        "PASS invoke b.csv: answered in 50 ms (6 bytes of text/csv in, 3 bytes out)",
        f"smoke test of {ENDPOINT} passed: 4 passed, 0 failed",
    ]
    assert invocations() == 2


def test_flags_give_the_same_inputs_as_the_environment(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    package = register(aws)
    answers("0.5")
    argv = [
        *("--endpoint-name", ENDPOINT, "--endpoint-config-name", CONFIG, "--region", REGION),
        *("--role-arn", ROLE_ARN, "--model-package-arn", package, "--max-latency-ms", "1000"),
    ]
    code, lines, _ = run(capsys, {}, argv)
    assert code == 0
    assert lines[-1] == f"smoke test of {ENDPOINT} passed: 3 passed, 0 failed"


def test_another_endpoint_config_is_reported_as_a_rollback(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    package = register(aws)
    # Where a guarded update that rolled back leaves the endpoint (moto has no UpdateEndpoint).
    sagemaker_backends[DEPLOY_ACCOUNT][REGION].endpoints[ENDPOINT].endpoint_config_name = OLD_CONFIG
    code, lines, _ = run(capsys, environment(package))
    assert code == 1
    assert lines[1] == (
        f"FAIL endpoint config: {ENDPOINT} serves {OLD_CONFIG}, not {CONFIG} that this stage deployed: "
        "SageMaker rolled the guarded deployment back (its rollback alarms fired); "
        "the new version is not serving"
    )
    assert invocations() == 0


def test_an_endpoint_not_in_service_fails_before_any_request(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    package = register(aws)
    endpoint = sagemaker_backends[DEPLOY_ACCOUNT][REGION].endpoints[ENDPOINT]
    endpoint.endpoint_status = "Failed"
    endpoint.failure_reason = "The primary container did not pass the ping health check."
    code, lines, _ = run(capsys, environment(package))
    assert code == 1
    assert lines[0] == (
        f"FAIL endpoint status: {ENDPOINT} is Failed, not InService "
        "(The primary container did not pass the ping health check.)"
    )
    assert lines[-1] == f"smoke test of {ENDPOINT} failed: 1 passed, 1 failed"
    assert invocations() == 0


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.read()


def endpoint_answers_with(monkeypatch: pytest.MonkeyPatch, answer: Callable[..., AWSResponse]) -> None:
    """Every InvokeEndpoint request of sessions created from now on gets ``answer``'s response instead."""
    # More specific than moto's own before-send handler, so botocore asks it first.
    handlers = [*botocore.handlers.BUILTIN_HANDLERS, ("before-send.sagemaker-runtime.InvokeEndpoint", answer)]
    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", handlers)


def test_an_error_response_fails_its_sample(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    package = register(aws)

    def model_error(request: Any, **_: Any) -> AWSResponse:
        # What SageMaker returns when the container answers 500 (SageMaker API Reference, InvokeEndpoint).
        body = json.dumps({"Message": "Received server error (500) from primary\nwith message oops"})
        headers = HTTPHeaders()
        headers["x-amzn-ErrorType"] = "ModelError"
        headers["Content-Type"] = "application/json"
        return AWSResponse(request.url, 424, headers, _Raw(body.encode()))

    endpoint_answers_with(monkeypatch, model_error)
    code, lines, _ = run(capsys, environment(package))
    assert code == 1
    assert lines[2] == (
        "FAIL invoke payload.csv: error response: ModelError: Received server error (500) from primary "
        "with message oops"
    )


def test_no_response_at_all_fails_its_sample(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    package = register(aws)

    def timeout(request: Any, **_: Any) -> AWSResponse:
        raise ReadTimeoutError(endpoint_url=request.url)

    endpoint_answers_with(monkeypatch, timeout)
    code, lines, _ = run(capsys, environment(package))
    assert code == 1
    assert lines[2].startswith(
        "FAIL invoke payload.csv: no response: ReadTimeoutError: Read timeout on endpoint"
    )


def test_archive_file_names_print_on_one_line(aws: boto3.Session, capsys: pytest.CaptureFixture[str]) -> None:
    package = register(aws, samples={"two\nlines.csv": b"1,2\n"})
    answers("0.5")
    code, lines, _ = run(capsys, environment(package))
    assert code == 0
    assert lines[2].startswith("PASS invoke two?lines.csv: answered in 50 ms")


def test_a_slow_answer_fails_on_the_latency_limit(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    package = register(aws)
    answers("0.5")
    code, lines, _ = run(capsys, environment(package), clock=FakeClock(2.5))
    assert code == 1
    assert lines[2] == "FAIL invoke payload.csv: answered in 2500 ms, over the limit of 1000 ms"


def test_a_package_without_samples_is_checked_for_status_and_config_only(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    package = register(aws, samples=None)
    code, lines, _ = run(capsys, environment(package))
    assert code == 0
    assert lines[2] == (
        f"SKIP sample payload: {package} has no SamplePayloadUrl: checked InService and the endpoint config "
        "only, no request was sent"
    )
    assert invocations() == 0


def test_a_payload_file_over_invoke_endpoints_limit_is_refused_unsent(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    limit = smoke_arguments.INVOKE_ENDPOINT_BODY_LIMIT
    package = register(aws, samples={"small.csv": b"1,2\n", "huge.csv": b"0" * (limit + 1)})
    code, lines, _ = run(capsys, environment(package))
    assert code == 1
    assert lines[2] == (
        f"FAIL payload huge.csv: {limit + 1} bytes, more than the {limit} bytes InvokeEndpoint accepts; "
        "not sent"
    )
    assert invocations() == 0


def test_a_lower_payload_limit_applies_too(aws: boto3.Session, capsys: pytest.CaptureFixture[str]) -> None:
    package = register(aws)
    code, lines, _ = run(capsys, environment(package, SMOKE_MAX_PAYLOAD_BYTES="10"))
    assert code == 1
    assert lines[2].startswith("FAIL payload payload.csv: 24 bytes, more than the 10 bytes")


def test_an_aws_error_names_the_call_it_ended(aws: boto3.Session, capsys: pytest.CaptureFixture[str]) -> None:
    package = register(aws)
    code, lines, _ = run(capsys, environment(package, SMOKE_ENDPOINT_NAME="missing"))
    assert code == 1
    assert lines[0].startswith("FAIL describe endpoint missing: ValidationException")


def test_samples_in_no_archive_fail(aws: boto3.Session, capsys: pytest.CaptureFixture[str]) -> None:
    package = register(aws)
    aws.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=SAMPLES_KEY, Body=b"1,2,3\n")
    code, lines, _ = run(capsys, environment(package))
    assert code == 1
    assert lines[2].startswith(f"FAIL sample payload: s3://{BUCKET}/{SAMPLES_KEY} is not a .tar.gz archive")


@pytest.mark.parametrize(
    ("environ", "argv", "expected"),
    [
        (
            {},
            [],
            [
                "error: --endpoint-name (or SMOKE_ENDPOINT_NAME): required",
                "error: --endpoint-config-name (or SMOKE_ENDPOINT_CONFIG_NAME): required",
                "error: --region (or SMOKE_ENDPOINT_REGION): required",
                "error: --role-arn (or SMOKE_ROLE_ARN): required",
                "error: --model-package-arn (or SMOKE_MODEL_PACKAGE_ARN) or --approved-model-info "
                "(or APPROVED_MODEL_INFO): required",
                "error: --max-latency-ms (or SMOKE_MAX_LATENCY_MS): required",
            ],
        ),
        (
            environment("arn:aws:sagemaker:eu-west-1:222222222222:model-package/demo-models/1"),
            ["--region", "Europe", "--max-latency-ms", "0"],
            [
                "error: --region: must be a region such as us-east-1, got 'Europe'",
                "error: --max-latency-ms: must be a whole number from 1 to 60000, got '0'",
            ],
        ),
        (
            environment("x", SMOKE_MODEL_PACKAGE_ARN="arn", SMOKE_MAX_PAYLOAD_BYTES="6291457"),
            [],
            [
                "error: SMOKE_MODEL_PACKAGE_ARN and APPROVED_MODEL_INFO: give one of them, not both",
                "error: SMOKE_MAX_PAYLOAD_BYTES: must be a whole number from 1 to 6291456, got '6291457'",
            ],
        ),
        (
            environment("x", APPROVED_MODEL_INFO="NONE", SMOKE_ENDPOINT_NAME="bad_name"),
            [],
            [
                "error: SMOKE_ENDPOINT_NAME: must be a SageMaker endpoint name "
                "(1-63 letters, digits, hyphens), got 'bad_name'",
                "error: APPROVED_MODEL_INFO: neither JSON nor base64 of it",
            ],
        ),
        (
            environment("arn:aws:sagemaker:eu-west-1:222222222222:model-package/demo-models"),
            ["--verbose"],
            ["error: unrecognized arguments: --verbose"],
        ),
    ],
    ids=["nothing", "bad-flags", "both-models", "bad-record", "unknown-flag"],
)
def test_bad_arguments_exit_2_with_one_line_each(
    capsys: pytest.CaptureFixture[str], environ: dict[str, str], argv: list[str], expected: list[str]
) -> None:
    code, lines, err = run(capsys, environ, argv)
    assert (code, lines) == (2, [])
    assert err.splitlines() == expected


def test_a_model_package_that_is_no_version_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    group = "arn:aws:sagemaker:eu-west-1:222222222222:model-package/demo-models"
    code, _, err = run(capsys, environment(group))
    assert code == 2
    assert err == (
        "error: APPROVED_MODEL_INFO: the model package must be a version ARN such as "
        f"arn:aws:sagemaker:us-east-1:123456789012:model-package/my-group/3, got '{group}'\n"
    )


def test_the_script_runs_as_codebuild_runs_it_and_exits_2_without_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--region", "nowhere"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error: --region: must be a region such as us-east-1, got 'nowhere'" in result.stderr.splitlines()
