"""Seedfarmer's variable names, both directions of the rule in one place.

Seedfarmer passes each manifest parameter as ``SEEDFARMER_PARAMETER_<NAME_IN_UPPER_SNAKE>`` (non-string
values JSON-encoded), the project, deployment and module names as ``SEEDFARMER_*`` and the tooling
account as ``CDK_DEFAULT_*``. A model field ``deployment_groups`` is the manifest's ``deployment-groups``
(or ``deploymentGroups``) and the variable ``SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS``.
"""

from __future__ import annotations

import re

PARAMETER_PREFIX = "SEEDFARMER_PARAMETER_"
SEEDFARMER_PREFIX = "SEEDFARMER_"
CDK_PREFIX = "CDK_DEFAULT_"
APPROVED_MODEL_INFO_VARIABLE = "APPROVED_MODEL_INFO"
APPROVED_MODEL_GROUP_VARIABLE = "APPROVED_MODEL_GROUP"

# Parameters seedfarmer JSON-encodes; the others are plain strings.
STRUCTURED_PARAMETERS = ("infra_repo", "model_build_repo", "deployment_groups", "tags", "notifications")
# Parameters that are maps from user-chosen keys: their keys are shown quoted, e.g. tags['aws:x'].
MAP_PARAMETERS = frozenset({"tags"})


def upper_snake(name: str) -> str:
    """Seedfarmer's rule: ``infra-repo`` and ``infraRepo`` both become ``INFRA_REPO``."""
    if "-" not in name and "_" not in name:
        name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return name.replace("-", "_").upper()


def variable(prefix: str, field: str) -> str:
    """The variable carrying a model's ``field``: ``<prefix><FIELD>``."""
    return prefix + upper_snake(field)


def parameter_name(field: str) -> str:
    """A parameter's name as the manifest spells it: ``deployment_groups`` is ``deployment-groups``."""
    return field.replace("_", "-")


def parameter_of(name: str) -> str:
    """The manifest's name of a ``SEEDFARMER_PARAMETER_*`` variable: the rule read backwards."""
    return parameter_name(name.removeprefix(PARAMETER_PREFIX).lower())
