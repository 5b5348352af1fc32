"""``deployment-groups-file``: the groups read from a YAML or JSON file in the module's folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from settings.fields import ModuleFile
from settings.variables import parameter_name

GROUPS_FILE_SIZE_LIMIT = 1_048_576
"""Bytes of ``deployment-groups-file`` read: fifty groups take about 16 KB."""
MODULE_FOLDER = Path(__file__).resolve().parent.parent
"""Where ``deployment-groups-file`` is read: this module's folder, under seedfarmer and in the pipelines."""


def groups_from_file(values: dict[str, Any], module_folder: Path) -> tuple[str | None, list[str], bool]:
    """Put the groups ``deployment-groups-file`` names where the inline parameter would be.

    The file keeps the groups out of the module manifest seedfarmer stores in SSM (8 KB at most). Returns
    the label for problems inside the file (parameter and file name), the problems met reading it, and
    whether the groups are missing because of them (so they are not also reported as required).
    """
    given = values.get("deployment_groups_file")
    if given is None:
        return None, [], False
    if "deployment_groups" in values:
        return None, ["deployment-groups, deployment-groups-file: give one of them, not both"], False
    try:
        relative = TypeAdapter(ModuleFile).validate_python(given)
    except ValidationError:
        return None, [], True  # ModuleParameters reports the rule
    where = f"{parameter_name('deployment_groups_file')} {relative}"
    groups, problem = _read_groups_file(module_folder, relative)
    if problem:
        return None, [f"{where}: {problem}"], True
    values["deployment_groups"] = groups
    return where, [], False


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML whose mappings never repeat a key: PyYAML would silently keep the last value."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # '<<' merges another mapping in; its keys may be overridden on purpose
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in first_line
            except TypeError:
                continue  # an unhashable key: the base class says so
            if repeated:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} given twice (first on line {first_line[key]})",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _read_groups_file(module_folder: Path, relative: str) -> tuple[Any, str | None]:
    """The file's content, or what stops it being read."""
    path = module_folder / relative
    if not path.resolve().is_relative_to(module_folder.resolve()):
        return None, f"leads outside the module's folder ({module_folder})"
    try:
        size = path.stat().st_size
        if size > GROUPS_FILE_SIZE_LIMIT:
            return None, f"is {size:,} bytes; at most {GROUPS_FILE_SIZE_LIMIT:,} are read"
        # A SafeLoader: constructs plain data only, as yaml.safe_load does.
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader), None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return None, f"cannot be read in the module's folder ({module_folder}): {reason}"
    except yaml.YAMLError as error:
        return None, f"is not valid YAML or JSON{_yaml_problem(error)}"
    except (RecursionError, MemoryError):
        return None, "cannot be read: nested too deeply or too large"


def _yaml_problem(error: yaml.YAMLError) -> str:
    """Where and what, on one line: PyYAML's own message spans several and quotes the text."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    if mark is None or problem is None:
        return f": {' '.join(str(error).split())}"
    return f" (line {mark.line + 1}, column {mark.column + 1}): {problem}"
