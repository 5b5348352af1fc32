"""Offline synth from seedfarmer manifests: the variables ``seedfarmer apply`` would set for this module.

``scripts/cdk.sh synth -c manifest=FILE`` then synthesizes exactly what ``seedfarmer apply`` would, on a
laptop without AWS credentials. FILE is either the module manifest (its group given with ``-c group=``)
or the deployment manifest, from which the group, deployment, project, account and region are read as
seedfarmer reads them, so that every local name equals the deployed one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from settings import CDK_PREFIX, MODULE_FOLDER, PARAMETER_PREFIX, SEEDFARMER_PREFIX, SettingsError, variable

DEFAULT_PROJECT = "mlops"
DEFAULT_DEPLOYMENT = "local"
PROJECT_FILE = "seedfarmer.yaml"


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
        env[variable(PARAMETER_PREFIX, name)] = value if isinstance(value, str) else json.dumps(value)
    if problems:
        raise SettingsError(problems)
    return env


def _documents(path: Path) -> list[Any]:
    """Every YAML document of ``path`` (a group's file may hold several module manifests)."""
    try:
        return list(yaml.safe_load_all(path.read_text()))
    except (OSError, yaml.YAMLError) as error:
        raise SettingsError([f"manifest: cannot read {path}: {error}"]) from None


def _project_root(manifest: Path) -> Path | None:
    """Where seedfarmer.yaml is: seedfarmer looks upward from where it runs, and the manifest is inside."""
    for folder in manifest.resolve().parents:
        if (folder / PROJECT_FILE).is_file():
            return folder
    return None


def _group_modules(root: Path, deployment: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every (group, module manifest) of a deployment, reading group paths as seedfarmer does.

    Seedfarmer opens each group's ``path``, relative to the project root, as one file of module
    manifests (a folder fails ``seedfarmer apply`` with "Is a directory").
    """
    found: list[tuple[str, dict[str, Any]]] = []
    problems: list[str] = []
    for group in deployment.get("groups") or []:
        name = str(group.get("name"))
        modules = group.get("modules") or []
        if "path" in group:
            if (root / str(group["path"])).is_dir():
                problems.append(
                    f"manifest: group {name}: path {group['path']} is a folder; seedfarmer opens each "
                    "group's path as one file of module manifests"
                )
                continue
            modules = _documents(root / str(group["path"]))
        found += [(name, module) for module in modules if isinstance(module, dict)]
    if problems:
        raise SettingsError(problems)
    return found


def _target(deployment: Mapping[str, Any], module: Mapping[str, Any]) -> dict[str, object]:
    """The module's target account and region, as seedfarmer picks them (its alias, or the defaults)."""
    alias = module.get("targetAccount")
    mappings = [
        m
        for m in deployment.get("targetAccountMappings") or []
        if (m.get("alias") == alias if alias else m.get("default"))
    ]
    if len(mappings) != 1:
        return {}
    regions = [r.get("region") for r in mappings[0].get("regionMappings") or [] if r.get("default")]
    region = module.get("targetRegion") or (regions[0] if len(regions) == 1 else None)
    return {"account": mappings[0].get("accountId"), "region": region}


def _from_deployment(
    path: Path, deployment: Mapping[str, Any], given: Collection[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The module manifest of this module in a deployment manifest, and where the deployment puts it.

    The module is the one whose ``path`` is this module's folder, or else the deployment's only module.
    Names in ``given`` come from ``-c`` options instead, so the deployment manifest's are not read.
    """
    root = _project_root(path)
    if root is None:
        raise SettingsError([f"manifest: no {PROJECT_FILE} in any folder above {path}: seedfarmer needs one"])
    found = _group_modules(root, deployment)
    here = [(g, m) for g, m in found if (root / str(m.get("path", ""))).resolve() == MODULE_FOLDER]
    if len(here) != 1 and len(found) == 1:
        here = found
    if len(here) != 1:
        listed = ", ".join(f"{g}-{m.get('name')}" for g, m in found) or "none"
        raise SettingsError(
            [
                f"manifest: {path} deploys {len(here)} modules from {MODULE_FOLDER} (modules: {listed}); "
                "give the module manifest instead, with -c group=GROUP"
            ]
        )
    group, module = here[0]
    project = yaml.safe_load((root / PROJECT_FILE).read_text()) or {}
    read = {
        "group": group,
        "project": project.get("project"),
        "deployment": deployment.get("name"),
        **_target(deployment, module),
    }
    names: dict[str, str] = {}
    problems: list[str] = []
    for key, value in read.items():
        if key in given or value is None:
            continue
        if isinstance(value, str):
            names[key] = value
        else:  # valueFrom, or a number YAML made of an unquoted value
            problems.append(
                f"manifest: {key} is {value!r}, not a string; quote it, or give it with -c {key}="
            )
    if problems:
        raise SettingsError(problems)
    return module, names


def manifest_environment(path: str, context: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """The environment seedfarmer would give this module, from a manifest file and ``-c`` options.

    ``-c`` options win over what a deployment manifest says. Seedfarmer names the module
    ``<group>-<module>``; without a group the module manifest's name is used, with a note.
    """
    documents = _documents(Path(path))
    manifest = documents[0] if len(documents) == 1 else None
    names: dict[str, str] = {}
    if isinstance(manifest, dict) and "groups" in manifest:
        manifest, names = _from_deployment(
            Path(path), manifest, {key for key, value in context.items() if value}
        )
    if not isinstance(manifest, dict) or not isinstance(manifest.get("parameters", []), list):
        raise SettingsError([f"manifest: {path} is not a seedfarmer module or deployment manifest"])
    names |= {key: str(value) for key, value in context.items() if value}
    overridden = sorted(n for n in environ if n.startswith(PARAMETER_PREFIX))
    if overridden:
        print(f"warning: -c manifest={path} replaces {', '.join(overridden)}", file=sys.stderr)
    env = {name: value for name, value in environ.items() if name not in overridden}
    env.update(parameter_environment(manifest.get("parameters", []), path))
    module = str(manifest.get("name") or "module")
    if "module" not in names:
        if "group" not in names:
            print(
                f"note: no -c group=: the module is named {module}, but seedfarmer names it "
                "<group>-<module>, so deployed names differ from these unless you give -c group=GROUP",
                file=sys.stderr,
            )
        names["module"] = f"{names['group']}-{module}" if "group" in names else module
    env[variable(SEEDFARMER_PREFIX, "project_name")] = names.get("project", DEFAULT_PROJECT)
    env[variable(SEEDFARMER_PREFIX, "deployment_name")] = names.get("deployment", DEFAULT_DEPLOYMENT)
    env[variable(SEEDFARMER_PREFIX, "module_name")] = names["module"]
    for key in ("account", "region"):
        if key in names:
            env[variable(CDK_PREFIX, key)] = names[key]
    return env
