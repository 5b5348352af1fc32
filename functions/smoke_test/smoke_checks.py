"""The smoke test's checks: the endpoint's status and config, the package's sample payloads, each invoked.

Each check prints one line (:class:`Report`); an AWS error becomes one line too (:func:`error_line`), never a
traceback. A sibling of ``index.py``, imported as the step runs the script (its folder first on
``sys.path``); plain boto3 and the standard library.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from smoke_arguments import SmokeTest, echo

# Bounds on what a sample archive may make this step read: its compressed size and its number of files.
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
MAX_PAYLOAD_FILES = 50

ENDPOINT_IN_SERVICE = "InService"
_S3_URL = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>\S+)", re.ASCII)


def _printable(name: str) -> str:
    """A file name from the archive, safe to print on one line."""
    return "".join(c if c.isprintable() else "?" for c in name)


def error_line(error: Exception) -> str:
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
            "sample payload", f"SamplePayloadUrl must be an s3://bucket/key URL, got {echo(samples.url)}"
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
            report.fails(f"invoke {name}", f"error response: {error_line(error)}")
            continue
        except BotoCoreError as error:  # a timeout or a dropped connection: no response at all
            report.fails(f"invoke {name}", f"no response: {error_line(error)}")
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
