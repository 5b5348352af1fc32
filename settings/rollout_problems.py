"""Rollout problems located where the user wrote them, and what SageMaker refuses a serverless endpoint.

Problems that need more than one field are raised as a :class:`pydantic.ValidationError` whose locations
are relative to the endpoint; pydantic prefixes them with the location of the model whose validator raised
them, and :mod:`settings.errors` turns each into one line
(``deployment-groups[0].deployEnvironments[1].endpoint.rollout.canarySize: ...``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from settings.rollout import RolloutMode, RolloutSettings

# Regions the SageMaker Developer Guide lists under "Deploy models with Amazon SageMaker Serverless
# Inference" (21 of them). botocore's endpoint data cannot tell: it lists SageMaker, not this feature.
# fmt: off
SERVERLESS_REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "eu-south-1",
    "me-south-1", "sa-east-1",
})
# fmt: on

# Endpoint fields that mean instances, so nothing on a serverless endpoint (settings.endpoint's).
_INSTANCE_FIELDS = ("instanceType", "initialInstanceCount", "autoScaling")
_SUBNET_FIELDS = ("subnetIdsParameter", "securityGroupIdParameter")


@dataclass(frozen=True)
class Problem:
    """One problem at a location relative to the endpoint, e.g. ``("rollout", "canarySize")``."""

    loc: tuple[str | int, ...]
    message: str
    given: object = None


def _detail(loc: tuple[str | int, ...], message: str, given: object) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError("endpoint_rollout", message), loc=loc, input=given)


def raise_problems(problems: Sequence[Problem], *, prefix: tuple[str | int, ...] = ()) -> None:
    """Raise ``problems`` as one ValidationError, located at ``prefix`` + each problem's location.

    Raised inside a model validator, pydantic adds that model's own location in front, and
    :mod:`settings.errors` reports
    ``deployment-groups[0].deployEnvironments[1].endpoint.rollout.canarySize: ...``.
    """
    if problems:
        raise ValidationError.from_exception_data(
            "endpoint", [_detail((*prefix, *p.loc), p.message, p.given) for p in problems]
        )


def serverless_problems(
    *,
    region: str | None,
    rollout: RolloutSettings,
    fields_set: Collection[str],
    vpc: bool,
    network_isolation: bool,
    data_capture_percentage: int,
) -> list[Problem]:
    """What SageMaker does not offer serverless endpoints.

    SageMaker Developer Guide: "Deploy models with Amazon SageMaker Serverless Inference" (feature
    exclusions) and "Exclusions" of deployment guardrails.
    """
    problems = []
    for field in _INSTANCE_FIELDS:
        if field in fields_set:
            problems.append(
                Problem(
                    (field,),
                    "is for instance endpoints, not with serverless: SageMaker picks the compute of a "
                    "serverless endpoint (CPU only, no GPU) from serverless.memorySizeInMB and scales it "
                    "by serverless.maxConcurrency",
                )
            )
    if vpc:
        problems.append(
            Problem(("vpc",), "must be false with serverless: serverless endpoints cannot join a VPC", True)
        )
    problems += [
        Problem((field,), "is for VPC endpoints; serverless endpoints cannot join a VPC")
        for field in _SUBNET_FIELDS
        if field in fields_set
    ]
    if network_isolation:
        problems.append(
            Problem(
                ("networkIsolation",),
                "must be false with serverless: serverless endpoints offer no network isolation",
                True,
            )
        )
    if data_capture_percentage:
        problems.append(
            Problem(
                ("dataCapturePercentage",),
                "must be 0 with serverless: SageMaker captures no data from serverless endpoints",
                data_capture_percentage,
            )
        )
    if "dataCaptureExpiryDays" in fields_set:
        problems.append(Problem(("dataCaptureExpiryDays",), "is for data capture, which serverless lacks"))
    if rollout.mode in (RolloutMode.CANARY, RolloutMode.LINEAR):
        problems.append(
            Problem(
                ("rollout", "mode"),
                f"{rollout.mode.value} shifts traffic by shares of the new fleet's instances, which a "
                "serverless endpoint does not have: use allAtOnce",
                rollout.mode.value,
            )
        )
    if region is not None:
        problems += serverless_region_problems(region, [()])
    return problems


def serverless_region_problems(region: str, serverless_at: Sequence[tuple[str | int, ...]]) -> list[Problem]:
    """A problem at each serverless endpoint (``serverless_at``: where each is) if ``region`` lacks it."""
    if region in SERVERLESS_REGIONS:
        return []
    message = (
        f"SageMaker Serverless Inference is not offered in {region}, the group's build region "
        f"(offered in: {', '.join(sorted(SERVERLESS_REGIONS))})"
    )
    return [Problem((*where, "serverless"), message) for where in serverless_at]
