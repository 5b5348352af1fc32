"""What seedfarmer stores for the module fits SSM: measured through seedfarmer's own code (benchmarks/)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from seedfarmer import checksum

from benchmarks.seedfarmer_storage import (
    GROUPS_FILE,
    SSM_VALUE_LIMIT,
    fits,
    module_parameters,
    sizes,
    stored_values,
)
from tests.conftest import ROOT

INLINE_GROUP_LIMIT = 24
"""The most benchmark groups ``seedfarmer apply`` can take inline; README "Scale" states it."""
STANDARD_TIER = 4096


def test_the_inline_limit_is_exact() -> None:
    """At the limit every value fits; one group more and the module manifest is refused."""
    at_limit, beyond = sizes(INLINE_GROUP_LIMIT), sizes(INLINE_GROUP_LIMIT + 1)
    assert fits(at_limit), at_limit
    assert not fits(beyond), beyond
    assert [name for name, size in beyond.items() if size > SSM_VALUE_LIMIT] == ["manifest"]


def test_the_readme_states_the_measured_limit_and_sizes() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"at most **{INLINE_GROUP_LIMIT} groups** inline" in readme
    assert f"{INLINE_GROUP_LIMIT + 1} groups" in readme
    rows = re.findall(
        r"^\| (\d+|any, with `deployment-groups-file`) \| (\d+) \| (\d+) \| 44 each \| (\d+) \|", readme, re.M
    )
    assert len(rows) == 8
    for groups, manifest, deployspec, metadata in rows:
        measured = sizes(1, from_file=True) if groups.startswith("any") else sizes(int(groups))
        assert (measured["manifest"], measured["deployspec"], measured["metadata"]) == (
            int(manifest),
            int(deployspec),
            int(metadata),
        ), groups
        assert measured["md5/manifest"] == measured["md5/deployspec"] == 44


@pytest.mark.parametrize("count", [1, 50])
def test_with_a_groups_file_nothing_stored_grows_with_the_groups(count: int) -> None:
    measured = sizes(count, from_file=True)
    assert measured == sizes(1, from_file=True)
    assert max(measured.values()) <= STANDARD_TIER, measured


def test_the_metadata_is_the_same_size_for_one_group_or_fifty() -> None:
    assert sizes(1)["metadata"] == sizes(50)["metadata"] <= STANDARD_TIER


def test_the_stored_metadata_is_the_output_plus_seedfarmers_keys() -> None:
    """The measurement went through seedfarmer's convert, add and store steps, not a copy of them."""
    metadata = json.loads(stored_values(module_parameters(2))["metadata"])
    assert metadata["InfraPipelineName"] == "mlops-demo-sample-ml-model-name-infra"
    assert metadata["DeploymentGroupsParameterPath"] == "/mlops-demo-sample-ml-model-name/deployment-groups/"
    assert {"SeedFarmerDeployed", "ModuleDeploymentRoleName", "CodeBuildBuildUrl"} <= set(metadata)
    assert "DeploymentGroups" not in metadata


def test_the_stored_manifest_holds_the_parameters() -> None:
    """Why the groups file helps: seedfarmer keeps every parameter value in the module manifest."""
    manifest = json.loads(stored_values(module_parameters(3))["manifest"])
    (groups,) = [p["value"] for p in manifest["parameters"] if p["name"] == "deployment-groups"]
    assert [g["name"] for g in groups] == ["group-000", "group-001", "group-002"]
    assert re.fullmatch(r"[0-9a-f]{32}", manifest["manifest_md5"])


def test_without_the_deployspecs_unset_an_earlier_versions_keys_would_stay() -> None:
    """Seedfarmer merges the previous deploy's metadata into the new one; the deployspec unsets it."""
    earlier = json.dumps({"DeploymentGroups": {"group-000": {"BuildAccount": "200000000000"}}})
    carried = json.loads(stored_values(module_parameters(1), previous_metadata=earlier)["metadata"])
    assert carried["DeploymentGroups"] == {"group-000": {"BuildAccount": "200000000000"}}
    assert "DeploymentGroups" not in json.loads(stored_values(module_parameters(1))["metadata"])


def test_seedfarmer_redeploys_when_the_groups_file_changes(tmp_path: Path) -> None:
    """Its bundle checksum covers the module's files, so an edited groups file alone triggers a deploy."""
    module = tmp_path / "modules" / "cicd"
    module.mkdir(parents=True)
    (module / "app.py").write_text("")
    (module / GROUPS_FILE).write_text("- name: a\n")
    before = checksum.get_module_md5(project_path=str(tmp_path), module_path="modules/cicd")
    (module / GROUPS_FILE).write_text("- name: b\n")
    assert checksum.get_module_md5(project_path=str(tmp_path), module_path="modules/cicd") != before
