"""The manifest's models document themselves, and the README's parameter tables say the same."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from settings import (
    AutoScalingSettings,
    BuildEnvironmentSettings,
    DeployEnvironmentSettings,
    DeploymentGroupSettings,
    EndpointSettings,
    EnvironmentType,
    InfraRepositorySettings,
    ModuleParameters,
)
from settings.notifications import NotificationSettings
from settings.rollout import AlarmSettings, RolloutSettings, ServerlessSettings
from settings.variables import parameter_name

README = Path(__file__).resolve().parent.parent / "README.md"
# Each model's fields, as the README's tables spell their rows.
TABLE_ROWS: list[tuple[type[BaseModel], str]] = [
    (ModuleParameters, "{}"),
    (InfraRepositorySettings, "infra-repo.{}"),
    (DeploymentGroupSettings, "…[i].{}"),
    (BuildEnvironmentSettings, "…[i].buildEnvironment.{}"),
    (EndpointSettings, "endpoint.{}"),
    (RolloutSettings, "endpoint.rollout.{}"),
    (AlarmSettings, "endpoint.alarms.{}"),
    (ServerlessSettings, "endpoint.serverless.{}"),
    (NotificationSettings, "notifications.{}"),
]
# Fields of every environment: the README lists them once, in a table of their own.
ENVIRONMENT_FIELDS = ("requireApproval", "endpoint")
CONTAINERS = {"…[i].buildEnvironment"}
"""Fields whose own fields have the rows."""


def readme_rows() -> dict[str, list[str]]:
    """The parameter tables' rows, by the key in their first cell."""
    section = README.read_text().split("## Parameters", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.fullmatch(r"\| `([^`]+)` \|(.*)\|", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def model_rows() -> dict[str, tuple[type[BaseModel], str]]:
    """Every field a user can set, named as its README row names it."""
    rows = {}
    for model, pattern in TABLE_ROWS:
        for field, info in model.model_fields.items():
            key = parameter_name(field) if model is ModuleParameters else info.alias or to_camel(field)
            if model is BuildEnvironmentSettings and key in ENVIRONMENT_FIELDS:
                continue  # in the table of what every environment accepts
            rows[pattern.format(key)] = (model, field)
    rows["requireApproval"] = (DeployEnvironmentSettings, "require_approval")
    return rows


def test_every_field_has_a_row_and_every_row_a_field() -> None:
    """A field added, renamed or removed fails here until the README's tables say so too."""
    assert set(readme_rows()) == set(model_rows()) - CONTAINERS


@pytest.mark.parametrize(
    "model",
    [
        ModuleParameters,
        InfraRepositorySettings,
        DeploymentGroupSettings,
        BuildEnvironmentSettings,
        DeployEnvironmentSettings,
        EndpointSettings,
        AutoScalingSettings,
        RolloutSettings,
        AlarmSettings,
        ServerlessSettings,
        NotificationSettings,
    ],
)
def test_every_field_documents_itself(model: type[BaseModel]) -> None:
    undocumented = [name for name, field in model.model_fields.items() if not field.description]
    assert undocumented == []


def _shown(default: object) -> str:
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, tuple | dict):
        return "[]" if isinstance(default, tuple) else "{}"
    return str(default)


@pytest.mark.parametrize("key", sorted(set(model_rows()) - CONTAINERS))
def test_the_readme_states_each_default_as_the_model_does(key: str) -> None:
    model, field = model_rows()[key]
    info = model.model_fields[field]
    cell = readme_rows()[key][1]
    if info.is_required():
        assert cell.startswith("required"), cell
        return
    default = info.get_default(call_default_factory=True)
    if default is None:
        assert cell.startswith(("none", "`/", "`30`", "`true` for type")), cell
    elif isinstance(default, BaseModel):
        assert cell, key
    else:
        assert f"`{_shown(default)}`" in cell, (cell, default)


def test_the_readme_states_the_dev_capture_expiry_and_prod_approval() -> None:
    rows = readme_rows()
    dev = DeployEnvironmentSettings(name="d", account="123456789012", type=EnvironmentType.DEV)
    prod = DeployEnvironmentSettings(name="p", account="123456789012", type=EnvironmentType.PROD)
    assert f"`{dev.data_capture_expiry_days}` in `dev`" in rows["endpoint.dataCaptureExpiryDays"][1]
    assert prod.data_capture_expiry_days is None
    assert (prod.needs_approval, dev.needs_approval) == (True, False)
    assert rows["requireApproval"][1] == "`true` for type `prod`, else `false`"
