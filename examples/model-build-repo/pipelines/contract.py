"""What the module's model build project hands this repository, read in one place.

The SageMaker model CICD module sets these variables on the CodeBuild project of each deployment
group; they name the group's build account, its roles, its artifacts bucket and key and its model
package group. Nothing else in this repository reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields


class ContractError(Exception):
    """One or more variables are missing; the message names each."""


@dataclass(frozen=True)
class BuildContract:
    """The model build project's variables, one field per variable (lower-cased)."""

    aws_region: str
    assume_role_arn: str
    sagemaker_pipeline_role_arn: str
    sagemaker_pipeline_name: str
    sagemaker_pipeline_description: str
    model_package_group_name: str
    artifact_bucket: str
    artifact_bucket_kms_key: str
    env_type: str
    project_name: str

    @classmethod
    def variables(cls) -> list[str]:
        """The variable names, as the module spells them."""
        return [field.name.upper() for field in fields(cls)]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> BuildContract:
        """Read every variable, or fail naming all that are missing or empty."""
        environ = os.environ if environ is None else environ
        missing = [name for name in cls.variables() if not environ.get(name)]
        if missing:
            raise ContractError(
                "not set (the model build project of the SageMaker model CICD module sets them): "
                + ", ".join(missing)
            )
        return cls(**{name.lower(): environ[name] for name in cls.variables()})
