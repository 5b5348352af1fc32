"""What the module's model build project hands this repository, read in one place.

The SageMaker model CICD module sets these variables on the CodeBuild project of each deployment
group; they name the group's build account, its roles, its artifacts bucket and key and its model
package group, and the bucket prefixes each account's roles may use. Nothing else in this
repository reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields


class ContractError(Exception):
    """One or more variables are missing or malformed; the message names each."""


@dataclass(frozen=True)
class BuildContract:
    """The model build project's variables, one field per variable (lower-cased)."""

    # Not AWS_REGION: CodeBuild sets that to the tooling account's region, where the project runs.
    build_region: str
    assume_role_arn: str
    sagemaker_pipeline_role_arn: str
    sagemaker_pipeline_name: str
    sagemaker_pipeline_description: str
    model_package_group_name: str
    artifact_bucket: str
    artifact_bucket_kms_key: str
    env_type: str
    project_name: str
    # Bucket prefixes (no slashes) the module's policies are written for: the build-account role may
    # write only code, deploy accounts may read only models, the rollout's smoke test reads samples.
    pipeline_code_prefix: str
    model_artifacts_prefix: str
    sample_payloads_prefix: str

    @classmethod
    def variables(cls) -> list[str]:
        """The variable names, as the module spells them."""
        return [field.name.upper() for field in fields(cls)]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> BuildContract:
        """Read every variable, or fail naming all that are missing or empty and every slashed prefix."""
        environ = os.environ if environ is None else environ
        missing = [name for name in cls.variables() if not environ.get(name)]
        if missing:
            raise ContractError(
                "not set (the model build project of the SageMaker model CICD module sets them): "
                + ", ".join(missing)
            )
        slashed = [name for name in cls.variables() if name.endswith("_PREFIX") and "/" in environ[name]]
        if slashed:
            raise ContractError("a bucket prefix, given without slashes: " + ", ".join(slashed))
        return cls(**{name.lower(): environ[name] for name in cls.variables()})
