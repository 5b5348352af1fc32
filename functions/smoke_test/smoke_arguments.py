"""The smoke test's inputs: flags or the CodeBuild step's environment variables, checked all at once.

Every problem is one line naming the flag or variable as it was given, so a misconfigured step says what to
fix without a traceback. A sibling of ``index.py``, imported as the step runs the script (its folder first on
``sys.path``); the standard library only.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# InvokeEndpoint's Body is at most 6,291,456 bytes (SageMaker API Reference, "InvokeEndpoint", Body);
# a serverless endpoint takes at most 4 MB ("Invoke a serverless endpoint", SageMaker Developer Guide).
INVOKE_ENDPOINT_BODY_LIMIT = 6_291_456
# Containers must answer within 60 s (SageMaker API Reference, "InvokeEndpoint"): no limit above that.
MAX_LATENCY_LIMIT_MS = 60_000

_NAME = re.compile(r"[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62}", re.ASCII)  # endpoint and endpoint config names
_REGION = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}", re.ASCII)
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}", re.ASCII)
_MODEL_PACKAGE_ARN = re.compile(
    r"arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):\d{12}:"
    r"model-package/[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62}/[1-9]\d*",
    re.ASCII,
)
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


def echo(value: str) -> str:
    """A given value as a problem line quotes it: its repr, cut short when long."""
    text = repr(value)
    return text if len(text) <= _ECHO_LIMIT else f"{text[:_ECHO_LIMIT]}... ({len(text)} characters)"


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
            self.problems.append(f"{where}: {rule}, got {echo(value)}")
        return value

    def number(self, dest: str, high: int, default: int | None = None) -> int:
        if dest not in self.given:
            if default is None:
                self.problems.append(f"{self.spelled(dest)}: required")
            return default or 0
        where, text = self.given[dest]
        if not re.fullmatch(r"\d{1,9}", text, re.ASCII) or not 1 <= int(text) <= high:
            self.problems.append(f"{where}: must be a whole number from 1 to {high}, got {echo(text)}")
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
                f"arn:aws:sagemaker:us-east-1:123456789012:model-package/my-group/3, got {echo(package)}"
            )
        return package


_BY_DEST = {option.dest: option for option in OPTIONS}


def parse_arguments(argv: Sequence[str], environ: Mapping[str, str]) -> SmokeTest:
    """Flags first, then their environment variables; raises :class:`BadArgumentsError` with every problem."""
    parser = _Parser(prog="smoke_test", add_help=False)
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
