"""Offline synth from a seedfarmer module manifest: its parameters become the variables seedfarmer sets.

``cdk synth -c manifest=examples/sample-ml-model-name.yaml`` then synthesizes exactly what
``seedfarmer apply`` would, on a laptop without AWS credentials.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from settings import CDK_PREFIX, PARAMETER_PREFIX, SEEDFARMER_PREFIX, SettingsError

DEFAULT_PROJECT = "mlops"
DEFAULT_DEPLOYMENT = "local"


def upper_snake(name: str) -> str:
    """Seedfarmer's rule: ``infra-repo`` and ``infraRepo`` both become ``INFRA_REPO``."""
    if "-" not in name and "_" not in name:
        name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return name.replace("-", "_").upper()


def parameter_environment(parameters: Sequence[Mapping[str, Any]], source: str) -> dict[str, str]:
    """``SEEDFARMER_PARAMETER_*`` for each parameter: strings as they are, anything else as JSON."""
    env: dict[str, str] = {}
    problems: list[str] = []
    for index, parameter in enumerate(parameters):
        name = str(parameter.get("name", f"parameters[{index}]"))
        if "valueFrom" in parameter:
            problems.append(
                f"{name}: valueFrom ({', '.join(parameter['valueFrom'])}) cannot be resolved offline; "
                f"give it a literal value in a copy of {source}"
            )
            continue
        if "value" not in parameter:
            problems.append(f"{name}: has no value in {source}")
            continue
        value = parameter["value"]
        env[PARAMETER_PREFIX + upper_snake(name)] = value if isinstance(value, str) else json.dumps(value)
    if problems:
        raise SettingsError(problems)
    return env


def manifest_environment(path: str, context: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """The environment seedfarmer would give this module, from a manifest file and ``-c`` options."""
    try:
        manifest = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise SettingsError([f"manifest: cannot read {path}: {error}"]) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("parameters", []), list):
        raise SettingsError([f"manifest: {path} is not a seedfarmer module manifest (no parameters list)"])
    overridden = sorted(n for n in environ if n.startswith(PARAMETER_PREFIX))
    if overridden:
        print(f"warning: -c manifest={path} replaces {', '.join(overridden)}", file=sys.stderr)
    env = {name: value for name, value in environ.items() if name not in overridden}
    env.update(parameter_environment(manifest.get("parameters", []), path))
    module = str(context.get("module") or manifest.get("name") or "module")
    env[f"{SEEDFARMER_PREFIX}PROJECT_NAME"] = str(context.get("project") or DEFAULT_PROJECT)
    env[f"{SEEDFARMER_PREFIX}DEPLOYMENT_NAME"] = str(context.get("deployment") or DEFAULT_DEPLOYMENT)
    env[f"{SEEDFARMER_PREFIX}MODULE_NAME"] = module
    for key in ("account", "region"):
        if context.get(key):
            env[f"{CDK_PREFIX}{key.upper()}"] = str(context[key])
    return env
