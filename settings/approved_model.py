"""The approved model a deploy pipeline's synth deploys: parsed once and checked against its group.

The approval trigger (``functions/approval_trigger``) records ``{modelPackageArn, modelDataUrl, imageUri}``
in the group's SSM parameter and passes it to the deploy pipeline, base64-encoded, as
``APPROVED_MODEL_INFO``; its synth re-synthesizes this module with that variable and
``APPROVED_MODEL_GROUP``. Until a first version is approved the parameter holds ``NONE``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from names import MODEL_ARTIFACTS_PREFIX, GroupNames
from settings.environment import unique_keys
from settings.errors import SettingsError, echo_value
from settings.fields import REGION_PATTERN
from settings.variables import APPROVED_MODEL_INFO_VARIABLE

NO_APPROVED_MODEL = "NONE"
"""The approved-model parameter's value, and the pipeline variable's default, until a version is approved."""
# The trigger's SSM record is at most 4 KB (a standard parameter); its base64 form, the deploy pipeline's
# variable, at most 1000 characters. Nothing longer is read, so nothing longer can exhaust the parser.
APPROVED_MODEL_INFO_LIMIT = 4096
_MODEL_PACKAGE_ARN = re.compile(
    rf"arn:aws[a-z-]*:sagemaker:(?P<region>{REGION_PATTERN}):(?P<account>\d{{12}}):"
    r"model-package/(?P<group>[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})/(?P<version>[1-9]\d*)",
    re.ASCII,
)
# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>[:tag | @digest], at most 255 characters
_ECR_IMAGE = re.compile(
    r"(?=.{1,255}\Z)"
    rf"(?P<account>\d{{12}})\.dkr\.ecr(?:-fips)?\.(?P<region>{REGION_PATTERN})\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)"
    r"(?::[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})?",
    re.ASCII,
)
_MODEL_DATA_URL = re.compile(r"(?:s3|https)://[^/\s]+/?\S*", re.ASCII)
_FIELDS = {"modelPackageArn": "model_package_arn", "modelDataUrl": "model_data_url", "imageUri": "image_uri"}


@dataclass(frozen=True)
class ApprovedModel:
    """The approved model package version the deploy pipeline deploys, as the approval trigger recorded it."""

    model_package_arn: str
    model_data_url: str
    image_uri: str

    @property
    def region(self) -> str:
        return self._arn_part("region")

    @property
    def account(self) -> str:
        return self._arn_part("account")

    @property
    def model_package_group(self) -> str:
        return self._arn_part("group")

    @property
    def image_account(self) -> str:
        return self._image_part("account")

    @property
    def image_region(self) -> str:
        return self._image_part("region")

    @property
    def image_repository(self) -> str:
        return self._image_part("repository")

    def _image_part(self, part: str) -> str:
        match = _ECR_IMAGE.fullmatch(self.image_uri)
        assert match, self.image_uri  # parse_approved_model checked it
        return match.group(part)

    def _arn_part(self, part: str) -> str:
        match = _MODEL_PACKAGE_ARN.fullmatch(self.model_package_arn)
        assert match, self.model_package_arn  # parse_approved_model checked it
        return match.group(part)


def _problems(document: object) -> list[str]:
    if not isinstance(document, dict):
        return [f"must be a JSON object, got {type(document).__name__}"]
    problems = [f"missing {key}" for key in _FIELDS if key not in document]
    problems += [f"unknown key {key!r}" for key in document if key not in _FIELDS]
    checks = (
        (
            "modelPackageArn",
            _MODEL_PACKAGE_ARN,
            "must be a model package version ARN such as "
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/my-group/3",
        ),
        ("modelDataUrl", _MODEL_DATA_URL, "must be an s3:// or https:// URL"),
        (
            "imageUri",
            _ECR_IMAGE,
            "must be an Amazon ECR image URI such as "
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-repository:1 (at most 255 characters)",
        ),
    )
    for key, pattern, rule in checks:
        if key not in document:
            continue
        value = document[key]
        if not isinstance(value, str) or not value:
            problems.append(f"{key} must be a non-empty string, got {echo_value(value)}")
        elif not pattern.fullmatch(value):
            problems.append(f"{key} {rule}, got {echo_value(value)}")
    return problems


def parse_approved_model(raw: str | None) -> ApprovedModel | None:
    """``APPROVED_MODEL_INFO`` as the approval trigger writes it; None while no version is approved.

    The deploy pipeline passes it base64-encoded (CodePipeline pastes variables into its actions' JSON
    unescaped); the JSON itself, as the SSM record holds it, is accepted too. Raises
    :class:`settings.SettingsError` with one line saying what is wrong, whatever the input.
    """
    if raw is None or raw.strip() in ("", NO_APPROVED_MODEL):
        return None
    where = f"{APPROVED_MODEL_INFO_VARIABLE}: "
    expected = (
        f"must be {NO_APPROVED_MODEL!r} or a JSON object with modelPackageArn, modelDataUrl and imageUri "
        "(or its base64 encoding)"
    )
    if len(raw) > APPROVED_MODEL_INFO_LIMIT:
        raise SettingsError(
            [f"{where}{expected}; got {len(raw)} characters, more than {APPROVED_MODEL_INFO_LIMIT}"]
        )
    text = raw.strip()
    if not text.startswith(("{", "[", '"')):
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise SettingsError([f"{where}{expected}; neither valid JSON nor base64 of it"]) from None
    try:
        document = json.loads(text, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as error:
        raise SettingsError(
            [f"{where}{expected}; not valid JSON ({error.msg} at position {error.pos})"]
        ) from None
    except ValueError as error:
        raise SettingsError([f"{where}{expected}; {error}"]) from None
    except (RecursionError, MemoryError) as error:
        raise SettingsError(
            [f"{where}{expected}; cannot be parsed ({type(error).__name__}: nested too deeply or too large)"]
        ) from None
    problems = _problems(document)
    if problems:
        raise SettingsError([f"{where}{'; '.join(problems)}"])
    return ApprovedModel(**{field: document[key] for key, field in _FIELDS.items()})


def check_model_belongs_to_group(model: ApprovedModel, names: GroupNames) -> list[str]:
    """The role may read this group's model artifacts only; anything else could never load."""
    where = f"{APPROVED_MODEL_INFO_VARIABLE}: "
    problems = []
    expected = (names.build_region, names.build_account, names.model_package_group)
    found = (model.region, model.account, model.model_package_group.lower())
    if found != expected:
        problems.append(
            f"{where}modelPackageArn must be a version of "
            f"arn:aws:sagemaker:{expected[0]}:{expected[1]}:model-package-group/{expected[2]}, "
            f"got {model.model_package_arn!r}"
        )
    artifacts = f"s3://{names.artifacts_bucket}/{MODEL_ARTIFACTS_PREFIX}/"
    if not model.model_data_url.startswith(artifacts):
        problems.append(
            f"{where}modelDataUrl must be under {artifacts} (the only prefix endpoints may read; "
            f"the model-build contract's MODEL_ARTIFACTS_PREFIX), got {echo_value(model.model_data_url)}"
        )
    if model.image_region != names.build_region:
        # CreateModel pulls the image from the endpoint's own region only (CreateModel API reference, Image).
        problems.append(
            f"{where}imageUri must be in the endpoint's region {names.build_region}, "
            f"got {echo_value(model.image_uri)}"
        )
    return problems
