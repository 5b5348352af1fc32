"""deployment-groups-file: the groups read from a file in the module's folder, every way it can fail."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
import yaml

from settings import (
    SettingsError,
    load_settings,
)
from tests.settings_harness import (  # noqa: F401 - the autouse fixture "env"
    PARAMETERS,
    readme_example_environment,
    variable,
)

# --- deployment-groups-file ---------------------------------------------------------------------------

FILE_RULE = (
    "must be a file in the module's folder, relative to it (letters, digits, '_', '-', '.' and '/'; "
    "no leading '/', no '..')"
)


def file_environment(name: str) -> dict[str, str]:
    """The README example with its groups named by file instead of given inline."""
    environ = {k: v for k, v in os.environ.items() if k != variable("deployment-groups")}
    environ[variable("deployment-groups-file")] = name
    return environ


def file_problems(folder: Path, name: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(file_environment(name), module_folder=folder)
    return caught.value.problems


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_groups_from_a_file_load_as_the_inline_ones(tmp_path: Path, suffix: str) -> None:
    groups = PARAMETERS["deployment-groups"]
    text = yaml.safe_dump(groups) if suffix == "yaml" else json.dumps(groups)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / f"groups.{suffix}").write_text(text)
    from_file = load_settings(file_environment(f"config/groups.{suffix}"), module_folder=tmp_path)
    inline = load_settings(os.environ)
    assert from_file.parameters.deployment_groups == inline.parameters.deployment_groups
    assert from_file.parameters.deployment_groups_file == f"config/groups.{suffix}"
    # The pipelines' synths read the same file from the infra repository, by the same name.
    assert from_file.carried_environment[variable("deployment-groups-file")] == f"config/groups.{suffix}"
    assert variable("deployment-groups") not in from_file.carried_environment


DUPLICATED = """\
- name: dev-group
  sourceBranch: dev
  buildEnvironment: {name: train, account: '123456789012', region: us-east-1, type: dev}
  sourceBranch: main
"""


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (DUPLICATED, "(line 4, column 3): key 'sourceBranch' given twice (first on line 2)"),
        (
            '[{"name": "a", "name": "b"}]',
            "(line 1, column 16): key 'name' given twice (first on line 1)",
        ),
    ],
)
def test_a_key_given_twice_in_the_file_is_an_error_naming_it(tmp_path: Path, text: str, where: str) -> None:
    """PyYAML itself keeps the last value of a repeated key without a word."""
    (tmp_path / "groups.yaml").write_text(text)
    assert file_problems(tmp_path, "groups.yaml") == [
        f"deployment-groups-file groups.yaml: is not valid YAML or JSON {where}"
    ]


def test_a_merge_key_may_override_what_it_merges(tmp_path: Path) -> None:
    """'<<' is how YAML shares settings; a key beside it overrides the merged one on purpose."""
    (tmp_path / "groups.yaml").write_text(
        "- name: dev-group\n"
        "  sourceBranch: dev\n"
        "  buildEnvironment:\n"
        "    <<: &env {name: train, account: '123456789012', region: us-east-1, type: dev}\n"
        "    name: build\n"
    )
    settings = load_settings(file_environment("groups.yaml"), module_folder=tmp_path)
    assert settings.parameters.deployment_groups[0].build_environment.name == "build"


def test_a_problem_inside_the_file_names_the_file_and_the_path_in_it(tmp_path: Path) -> None:
    groups = copy.deepcopy(PARAMETERS["deployment-groups"])
    groups[1]["buildEnvironment"]["account"] = "12345"
    (tmp_path / "groups.yaml").write_text(yaml.safe_dump(groups))
    assert file_problems(tmp_path, "groups.yaml") == [
        "deployment-groups-file groups.yaml[1].buildEnvironment.account: must be 12 digits, got '12345'"
    ]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.yaml", None, "deployment-groups-file missing.yaml: cannot be read in the module's folder"),
        (
            "bad.yaml",
            "- name: [\n",
            "deployment-groups-file bad.yaml: is not valid YAML or JSON (line 2, column 1): "
            "expected the node content, but found '<stream end>'",
        ),
        ("empty.yaml", "", "deployment-groups-file empty.yaml: must be a list ([...])"),
        ("object.yaml", "name: a\n", "deployment-groups-file object.yaml: must be a list ([...])"),
        ("none.yaml", "[]\n", "deployment-groups-file none.yaml: must list at least one deployment group"),
        ("../outside.yaml", None, f"deployment-groups-file: {FILE_RULE}, got '../outside.yaml'"),
        ("/etc/passwd", None, f"deployment-groups-file: {FILE_RULE}, got '/etc/passwd'"),
    ],
)
def test_a_bad_file_is_one_line_naming_it(
    tmp_path: Path, name: str, content: str | None, problem: str
) -> None:
    if content is not None:
        (tmp_path / name).write_text(content)
    (line,) = file_problems(tmp_path, name)
    assert line.startswith(problem), line


def test_a_link_out_of_the_module_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.yaml").write_text(yaml.safe_dump(PARAMETERS["deployment-groups"]))
    (tmp_path / "module").mkdir()
    (tmp_path / "module" / "groups.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    assert file_problems(tmp_path / "module", "groups.yaml") == [
        f"deployment-groups-file groups.yaml: leads outside the module's folder ({tmp_path / 'module'})"
    ]


def test_inline_groups_and_a_file_are_mutually_exclusive(tmp_path: Path) -> None:
    (tmp_path / "groups.yaml").write_text(yaml.safe_dump(PARAMETERS["deployment-groups"]))
    environ = dict(os.environ, **{variable("deployment-groups-file"): "groups.yaml"})
    with pytest.raises(SettingsError) as caught:
        load_settings(environ, module_folder=tmp_path)
    assert caught.value.problems == ["deployment-groups, deployment-groups-file: give one of them, not both"]
