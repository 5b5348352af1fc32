"""The source repositories the pipelines read: CodeCommit, or hosted ones through AWS CodeConnections."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from settings.fields import BranchName, RelativePath
from settings.inputs import Input

Host = Literal["codecommit", "github", "github-enterprise", "gitlab", "gitlab-self-managed", "bitbucket"]
_CODECOMMIT_NAME = re.compile(r"(?!.*\.git$)[A-Za-z0-9_.-]{1,100}")
# Full repository paths as each hosting service allows them (GitLab nests groups).
_HOSTED_NAMES: dict[str, tuple[re.Pattern[str], str]] = {
    "github": (re.compile(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}"), "'owner/repository'"),
    "github-enterprise": (re.compile(r"[A-Za-z0-9_-]{1,39}/[A-Za-z0-9._-]{1,100}"), "'owner/repository'"),
    "bitbucket": (re.compile(r"[A-Za-z0-9_.-]{1,62}/[A-Za-z0-9_.-]{1,62}"), "'workspace/repository'"),
    "gitlab": (
        re.compile(r"[A-Za-z0-9_.-]{1,255}(/[A-Za-z0-9_.-]{1,255}){1,20}"),
        "'group/repository' or 'group/subgroup/.../repository'",
    ),
    "gitlab-self-managed": (
        re.compile(r"[A-Za-z0-9_.-]{1,255}(/[A-Za-z0-9_.-]{1,255}){1,20}"),
        "'group/repository' or 'group/subgroup/.../repository'",
    ),
}
_CONNECTION_ARN = re.compile(
    r"arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}"
)


class RepositorySettings(Input):
    """A source repository the pipelines read: CodeCommit, or a hosted one through AWS CodeConnections."""

    host: Host = Field(description="Where the repository lives.")
    name: str = Field(
        description="CodeCommit: the repository's name; elsewhere its full path, e.g. 'owner/repository'."
    )
    connection_arn: str | None = Field(
        None,
        validate_default=True,
        description="The CodeConnections connection to a hosted repository; not for CodeCommit.",
    )

    @field_validator("name")
    @classmethod
    def _name_fits_host(cls, value: str, info: ValidationInfo) -> str:
        host = info.data.get("host")
        if not value:
            raise ValueError("must not be empty")
        if host == "codecommit":
            if not _CODECOMMIT_NAME.fullmatch(value):
                raise ValueError(
                    "must be a CodeCommit repository name: 1-100 letters, digits, '.', '_' or '-', "
                    "not ending in '.git'"
                )
        elif host in _HOSTED_NAMES:
            pattern, shape = _HOSTED_NAMES[host]
            if not pattern.fullmatch(value):
                raise ValueError(f"must be the full repository path {shape} on {host}")
        return value

    @field_validator("connection_arn")
    @classmethod
    def _connection_for_hosted_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        host = info.data.get("host")
        if host == "codecommit" and value is not None:
            raise ValueError("is only for hosted repositories; a CodeCommit repository needs none")
        if host not in (None, "codecommit") and value is None:
            raise ValueError(
                f"is required for host '{host}': the ARN of an AWS CodeConnections connection to it"
            )
        if value is not None and not _CONNECTION_ARN.fullmatch(value):
            raise ValueError(
                "must be a connection ARN such as "
                "arn:aws:codeconnections:us-east-1:123456789012:connection/<uuid>"
            )
        return value

    @property
    def hosted(self) -> bool:
        """Read through a CodeConnections connection rather than from CodeCommit."""
        return self.host != "codecommit"


class InfraRepositorySettings(RepositorySettings):
    """The repository holding this module's code, which the infra pipeline re-synthesizes."""

    branch: BranchName = Field("main", description="Branch the infra and deploy pipelines read.")
    path: RelativePath = Field(".", description="Folder of the repository that holds this module.")
