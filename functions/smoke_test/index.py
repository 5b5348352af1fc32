"""Deploy pipeline (tooling account): the smoke test after an endpoint stage, before the next stage.

A CodeBuild step runs ``python functions/smoke_test/index.py`` once the endpoint stack of one environment
is deployed. It assumes that environment's smoke role (in the deploy account), and fails the stage, so the
next environment never gets the version, when:

- the endpoint is not ``InService``;
- the endpoint serves another endpoint config than the one the stack just deployed: after a guarded
  (blue/green) update whose alarms fired, SageMaker rolls back to the old config and returns the endpoint
  to ``InService``, and CloudFormation may still report success;
- a sample payload of the approved model package (``SamplePayloadUrl``) gets an error response, takes
  longer than the latency limit, or is larger than ``InvokeEndpoint`` accepts.

A package without ``SamplePayloadUrl`` is checked for the first two only, and the log says so. One line per
check on stdout. Exit codes: 0 passed, 1 a check failed, 2 bad arguments. Plain boto3 and the standard
library, so the step installs nothing else.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import json
import os
import re
import sys
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

EXIT_PASSED, EXIT_FAILED, EXIT_BAD_ARGUMENTS = 0, 1, 2

# InvokeEndpoint's Body is at most 6,291,456 bytes (SageMaker API Reference, "InvokeEndpoint", Body);
# a serverless endpoint takes at most 4 MB ("Invoke a serverless endpoint", SageMaker Developer Guide).
INVOKE_ENDPOINT_BODY_LIMIT = 6_291_456
# Containers must answer within 60 s (SageMaker API Reference, "InvokeEndpoint"): no limit above that.
MAX_LATENCY_LIMIT_MS = 60_000
# The docs ask for a socket timeout of 70 s for models that take up to 60 s ("InvokeEndpoint").
READ_TIMEOUT_S = 70
# Bounds on what a sample archive may make this step read: its compressed size and its number of files.
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
MAX_PAYLOAD_FILES = 50
SESSION_SECONDS = 900  # AssumeRole's minimum: the whole test takes a few seconds

ENDPOINT_IN_SERVICE = "InService"

_NAME = re.compile(r"[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62}", re.ASCII)  # endpoint and endpoint config names
_REGION = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}", re.ASCII)
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}", re.ASCII)
_MODEL_PACKAGE_ARN = re.compile(
    r"arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):\d{12}:"
    r"model-package/[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62}/[1-9]\d*",
    re.ASCII,
)
_S3_URL = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>\S+)", re.ASCII)
_ECHO_LIMIT = 80


class BadArgumentsError(Exception):
    """What is wrong with the arguments, one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Option:
    """One input: its flag, the environment variable that may give it instead, and its help."""

    flag: str
    variable: str
    help: str

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


OPTIONS = (
    Option("--endpoint-name", "SMOKE_ENDPOINT_NAME", "the endpoint to test (the endpoint stack's output)"),
    Option(
        "--endpoint-config-name",
        "SMOKE_ENDPOINT_CONFIG_NAME",
        "the endpoint config the stack deployed (its output); any other means a rollback",
    ),
    Option("--region", "SMOKE_ENDPOINT_REGION", "the endpoint's region"),
    Option("--role-arn", "SMOKE_ROLE_ARN", "the smoke role to assume in the endpoint's account"),
    Option(
        "--model-package-arn",
        "SMOKE_MODEL_PACKAGE_ARN",
        "the approved model package version (or give --approved-model-info)",
    ),
    Option(
        "--approved-model-info",
        "APPROVED_MODEL_INFO",
        "the deploy pipeline's approved-model record (JSON with modelPackageArn, or its base64)",
    ),
    Option("--max-latency-ms", "SMOKE_MAX_LATENCY_MS", "fail a sample answered more slowly (1-60000)"),
    Option(
        "--max-payload-bytes",
        "SMOKE_MAX_PAYLOAD_BYTES",
        f"refuse larger sample files (default and most {INVOKE_ENDPOINT_BODY_LIMIT}; 4194304 for serverless)",
    ),
)


@dataclass(frozen=True)
class SmokeTest:
    """The checked arguments."""

    endpoint_name: str
    endpoint_config_name: str
    region: str
    role_arn: str
    model_package_arn: str
    max_latency_ms: int
    max_payload_bytes: int

    @property
    def package_region(self) -> str:
        match = _MODEL_PACKAGE_ARN.fullmatch(self.model_package_arn)
        assert match, self.model_package_arn  # parse_arguments checked it
        return match.group("region")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would print its usage and exit
        raise BadArgumentsError([message])


def _echo(value: str) -> str:
    text = repr(value)
    return text if len(text) <= _ECHO_LIMIT else f"{text[:_ECHO_LIMIT]}... ({len(text)} characters)"


def _printable(name: str) -> str:
    """A file name from the archive, safe to print on one line."""
    return "".join(c if c.isprintable() else "?" for c in name)


def _model_package_from_record(record: str) -> str:
    """``modelPackageArn`` of the approval trigger's record, as the deploy pipeline's variable holds it."""
    text = record.strip()
    if not text.startswith("{"):
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ValueError("neither JSON nor base64 of it") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg} at position {error.pos})") from None
    if not isinstance(document, dict) or not isinstance(document.get("modelPackageArn"), str):
        raise ValueError("must be a JSON object with modelPackageArn")
    return str(document["modelPackageArn"])


class _Inputs:
    """The given values by destination, with the user's spelling of each; collects every problem."""

    def __init__(self, given: Mapping[str, tuple[str, str]]) -> None:
        self.given = given
        self.problems: list[str] = []

    @staticmethod
    def spelled(dest: str) -> str:
        option = _BY_DEST[dest]
        return f"{option.flag} (or {option.variable})"

    def text(self, dest: str, pattern: re.Pattern[str], rule: str) -> str:
        if dest not in self.given:
            self.problems.append(f"{self.spelled(dest)}: required")
            return ""
        where, value = self.given[dest]
        if not pattern.fullmatch(value):
            self.problems.append(f"{where}: {rule}, got {_echo(value)}")
        return value

    def number(self, dest: str, high: int, default: int | None = None) -> int:
        if dest not in self.given:
            if default is None:
                self.problems.append(f"{self.spelled(dest)}: required")
            return default or 0
        where, text = self.given[dest]
        if not re.fullmatch(r"\d{1,9}", text, re.ASCII) or not 1 <= int(text) <= high:
            self.problems.append(f"{where}: must be a whole number from 1 to {high}, got {_echo(text)}")
            return 0
        return int(text)

    def model_package(self) -> str:
        """The ARN itself, or the one the deploy pipeline's record names: exactly one of the two."""
        arn, record = self.given.get("model_package_arn"), self.given.get("approved_model_info")
        if arn and record:
            self.problems.append(f"{arn[0]} and {record[0]}: give one of them, not both")
            return ""
        if not arn and not record:
            self.problems.append(
                f"{self.spelled('model_package_arn')} or {self.spelled('approved_model_info')}: required"
            )
            return ""
        if arn:
            where, package = arn
        else:
            assert record is not None
            where = record[0]
            try:
                package = _model_package_from_record(record[1])
            except ValueError as error:
                self.problems.append(f"{where}: {error}")
                return ""
        if not _MODEL_PACKAGE_ARN.fullmatch(package):
            self.problems.append(
                f"{where}: the model package must be a version ARN such as "
                f"arn:aws:sagemaker:us-east-1:123456789012:model-package/my-group/3, got {_echo(package)}"
            )
        return package


_BY_DEST = {option.dest: option for option in OPTIONS}


def parse_arguments(argv: Sequence[str], environ: Mapping[str, str]) -> SmokeTest:
    """Flags first, then their environment variables; raises :class:`BadArgumentsError` with every problem."""
    parser = _Parser(prog="smoke_test", description=__doc__.splitlines()[0], add_help=False)
    for option in OPTIONS:
        parser.add_argument(option.flag, help=f"{option.help} [{option.variable}]")
    namespace = parser.parse_args(list(argv))
    given: dict[str, tuple[str, str]] = {}
    for option in OPTIONS:
        flag_value = getattr(namespace, option.dest)
        if flag_value is not None:
            given[option.dest] = (option.flag, flag_value)
        elif environ.get(option.variable, "") != "":
            given[option.dest] = (option.variable, environ[option.variable])
    inputs = _Inputs(given)
    name_rule = "must be a SageMaker {} name (1-63 letters, digits, hyphens)"
    test = SmokeTest(
        endpoint_name=inputs.text("endpoint_name", _NAME, name_rule.format("endpoint")),
        endpoint_config_name=inputs.text("endpoint_config_name", _NAME, name_rule.format("endpoint config")),
        region=inputs.text("region", _REGION, "must be a region such as us-east-1"),
        role_arn=inputs.text(
            "role_arn", _ROLE_ARN, "must be an IAM role ARN such as arn:aws:iam::123456789012:role/name"
        ),
        model_package_arn=inputs.model_package(),
        max_latency_ms=inputs.number("max_latency_ms", MAX_LATENCY_LIMIT_MS),
        max_payload_bytes=inputs.number(
            "max_payload_bytes", INVOKE_ENDPOINT_BODY_LIMIT, default=INVOKE_ENDPOINT_BODY_LIMIT
        ),
    )
    if inputs.problems:
        raise BadArgumentsError(inputs.problems)
    return test


def _error(error: Exception) -> str:
    """One line for an AWS error: its code and message, never a traceback."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        text = f"{details.get('Code', 'Error')}: {details.get('Message', '')}".rstrip(": ")
    else:
        text = f"{type(error).__name__}: {error}"
    return " ".join(text.split())


class Report:
    """One line per check on stdout; remembers whether any failed."""

    def __init__(self) -> None:
        self.failed = 0
        self.passed = 0

    def passes(self, check: str, detail: str) -> None:
        self.passed += 1
        print(f"PASS {check}: {detail}", flush=True)

    def fails(self, check: str, detail: str) -> None:
        self.failed += 1
        print(f"FAIL {check}: {detail}", flush=True)

    @staticmethod
    def note(check: str, detail: str) -> None:
        print(f"SKIP {check}: {detail}", flush=True)


def _assume(test: SmokeTest) -> boto3.Session:
    # The regional STS endpoint of the endpoint's region, not the global one.
    sts = boto3.client("sts", region_name=test.region)
    credentials = sts.assume_role(
        RoleArn=test.role_arn,
        RoleSessionName=f"smoke-{test.endpoint_name}"[:64],
        DurationSeconds=SESSION_SECONDS,
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=test.region,
    )


def check_endpoint(sagemaker: Any, test: SmokeTest, report: Report) -> bool:
    """InService, on the config this deployment created; True when both hold."""
    endpoint = sagemaker.describe_endpoint(EndpointName=test.endpoint_name)
    status = str(endpoint["EndpointStatus"])
    healthy = status == ENDPOINT_IN_SERVICE
    if healthy:
        report.passes("endpoint status", f"{test.endpoint_name} is {status}")
    else:
        reason = endpoint.get("FailureReason")
        report.fails(
            "endpoint status",
            f"{test.endpoint_name} is {status}, not {ENDPOINT_IN_SERVICE}"
            + (f" ({reason})" if reason else ""),
        )
    serving = endpoint["EndpointConfigName"]
    if serving == test.endpoint_config_name:
        report.passes(
            "endpoint config", f"{test.endpoint_name} serves {serving}, the config this stage deployed"
        )
        return healthy
    # After alarms fire during a blue/green update, SageMaker shifts traffic back to the old fleet and config
    # ("Auto-Rollback Configuration and Monitoring", SageMaker Developer Guide, deployment guardrails).
    report.fails(
        "endpoint config",
        f"{test.endpoint_name} serves {serving}, not {test.endpoint_config_name} that this stage deployed: "
        "SageMaker rolled the guarded deployment back (its rollback alarms fired); the new version is not "
        "serving",
    )
    return False


@dataclass(frozen=True)
class Samples:
    """What the approved package says to send: the archive's location and the content type."""

    url: str
    content_type: str
    accept: str | None


def sample_payloads(sagemaker: Any, test: SmokeTest, report: Report) -> Samples | None:
    """The package's sample payload, or None (with a line saying why) when it has none."""
    package = sagemaker.describe_model_package(ModelPackageName=test.model_package_arn)
    url = package.get("SamplePayloadUrl")
    if not url:
        report.note(
            "sample payload",
            f"{test.model_package_arn} has no SamplePayloadUrl: checked InService and the endpoint config "
            "only, no request was sent",
        )
        return None
    specification = package.get("InferenceSpecification", {})
    content_types = specification.get("SupportedContentTypes") or []
    if not content_types:
        report.fails(
            "sample payload",
            f"{test.model_package_arn} has a SamplePayloadUrl but no InferenceSpecification."
            "SupportedContentTypes: the content type of its samples is unknown",
        )
        return None
    accept = (specification.get("SupportedResponseMIMETypes") or [None])[0]
    return Samples(url=url, content_type=content_types[0], accept=accept)


def read_archive(s3: Any, samples: Samples, test: SmokeTest, report: Report) -> list[tuple[str, bytes]]:
    """The payload files of the sample archive; oversized files are refused and end the reading."""
    match = _S3_URL.fullmatch(samples.url)
    if not match:
        report.fails(
            "sample payload", f"SamplePayloadUrl must be an s3://bucket/key URL, got {_echo(samples.url)}"
        )
        return []
    response = s3.get_object(Bucket=match.group("bucket"), Key=match.group("key"))
    size = response["ContentLength"]
    if size > MAX_ARCHIVE_BYTES:
        response["Body"].close()
        report.fails(
            "sample payload",
            f"{samples.url} has {size} bytes, more than this test reads ({MAX_ARCHIVE_BYTES})",
        )
        return []
    payloads: list[tuple[str, bytes]] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(response["Body"].read()), mode="r:gz") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                if len(payloads) == MAX_PAYLOAD_FILES:
                    report.fails("sample payload", f"{samples.url} holds more than {MAX_PAYLOAD_FILES} files")
                    return []
                if member.size > test.max_payload_bytes:
                    # Stop here: skipping the file would still decompress it.
                    report.fails(
                        f"payload {_printable(member.name)}",
                        f"{member.size} bytes, more than the {test.max_payload_bytes} bytes InvokeEndpoint "
                        "accepts; not sent",
                    )
                    return []
                extracted = archive.extractfile(member)
                assert extracted is not None  # a regular file
                payloads.append((_printable(member.name), extracted.read()))
    except (tarfile.TarError, OSError, EOFError) as error:
        report.fails("sample payload", f"{samples.url} is not a .tar.gz archive ({error})")
        return []
    if not payloads:
        report.fails("sample payload", f"{samples.url} holds no payload file")
    return payloads


def invoke(
    runtime: Any,
    test: SmokeTest,
    samples: Samples,
    payloads: list[tuple[str, bytes]],
    *,
    report: Report,
    clock: Callable[[], float],
) -> None:
    """Each payload once; an error response or a slow answer fails its check."""
    for name, body in payloads:
        request: dict[str, Any] = {
            "EndpointName": test.endpoint_name,
            "ContentType": samples.content_type,
            "Body": body,
        }
        if samples.accept:
            request["Accept"] = samples.accept
        start = clock()
        try:
            answer = runtime.invoke_endpoint(**request)["Body"].read()
        except ClientError as error:
            report.fails(f"invoke {name}", f"error response: {_error(error)}")
            continue
        except BotoCoreError as error:  # a timeout or a dropped connection: no response at all
            report.fails(f"invoke {name}", f"no response: {_error(error)}")
            continue
        elapsed_ms = round((clock() - start) * 1000)
        if elapsed_ms > test.max_latency_ms:
            report.fails(
                f"invoke {name}", f"answered in {elapsed_ms} ms, over the limit of {test.max_latency_ms} ms"
            )
        else:
            report.passes(
                f"invoke {name}",
                f"answered in {elapsed_ms} ms ({len(body)} bytes of {samples.content_type} in, "
                f"{len(answer)} bytes out)",
            )


def run(test: SmokeTest, report: Report, clock: Callable[[], float]) -> None:
    """The checks in order; each stops the run when it fails, and an AWS error names the call it ended."""
    call = f"assume {test.role_arn}"
    try:
        session = _assume(test)
        call = f"describe endpoint {test.endpoint_name}"
        sagemaker = session.client("sagemaker", region_name=test.region)
        if not check_endpoint(sagemaker, test, report):
            return
        # The package and its samples live in the build account, in the package's region.
        call = f"describe model package {test.model_package_arn}"
        registry = session.client("sagemaker", region_name=test.package_region)
        samples = sample_payloads(registry, test, report)
        if samples is None:
            return
        call = f"download {samples.url}"
        s3 = session.client("s3", region_name=test.package_region)
        payloads = read_archive(s3, samples, test, report)
    except (ClientError, BotoCoreError) as error:
        report.fails(call, _error(error))
        return
    if report.failed:
        return
    # No retries: a retried request would hide an error and blur the latency measured.
    runtime = session.client(
        "sagemaker-runtime",
        region_name=test.region,
        config=Config(read_timeout=READ_TIMEOUT_S, retries={"total_max_attempts": 1}),
    )
    invoke(runtime, test, samples, payloads, report=report, clock=clock)


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> int:
    """Run the checks; the exit code says how they went (0 passed, 1 failed, 2 bad arguments)."""
    try:
        test = parse_arguments(
            sys.argv[1:] if argv is None else argv, os.environ if environ is None else environ
        )
    except BadArgumentsError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    report = Report()
    run(test, report, clock)
    verdict = "failed" if report.failed else "passed"
    print(f"smoke test of {test.endpoint_name} {verdict}: {report.passed} passed, {report.failed} failed")
    return EXIT_FAILED if report.failed else EXIT_PASSED


if __name__ == "__main__":
    sys.exit(main())
