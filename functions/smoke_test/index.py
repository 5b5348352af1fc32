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
library, so the step installs nothing else. The inputs (``smoke_arguments.py``) and the checks
(``smoke_checks.py``) are sibling files, imported as top-level modules: Python puts a script's own folder
first on ``sys.path``, so the step runs this file from the checkout as it is.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from smoke_arguments import BadArgumentsError, SmokeTest, parse_arguments
from smoke_checks import Report, check_endpoint, error_line, invoke, read_archive, sample_payloads

EXIT_PASSED, EXIT_FAILED, EXIT_BAD_ARGUMENTS = 0, 1, 2

# The docs ask for a socket timeout of 70 s for models that take up to 60 s ("InvokeEndpoint").
READ_TIMEOUT_S = 70
SESSION_SECONDS = 900  # AssumeRole's minimum: the whole test takes a few seconds


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
        report.fails(call, error_line(error))
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
