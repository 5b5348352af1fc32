"""docs/zero-to-served-model.md: manifests valid for seedfarmer and the module, links that resolve."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import seedfarmer
import yaml
from seedfarmer.models import ProjectSpec
from seedfarmer.models.manifests import DeploymentManifest, ModuleManifest

from settings import load_settings
from tests.conftest import ROOT, Synth, seedfarmer_environment

GUIDE = ROOT / "docs" / "zero-to-served-model.md"


def yaml_blocks() -> list[dict[str, Any]]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(), re.DOTALL)]


def block(key: str, value: object) -> dict[str, Any]:
    (found,) = [b for b in yaml_blocks() if b.get(key) == value]
    return found


@pytest.fixture
def strict_seedfarmer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seedfarmer as it reads the guide's seedfarmer.yaml, refusing unknown fields besides."""
    project = ProjectSpec(**block("project", "mlops"), manifest_validation_fail_on_unknown_fields=True)
    monkeypatch.setattr(seedfarmer.config, "_project_spec", project)


@pytest.mark.usefixtures("strict_seedfarmer")
def test_the_deployment_manifest_is_one_seedfarmer_accepts() -> None:
    manifest = DeploymentManifest(**block("toolchainRegion", "us-east-1"))
    assert manifest.name == "platform"
    assert [group.path for group in manifest.groups] == ["manifests/models/"]


@pytest.mark.usefixtures("strict_seedfarmer")
def test_the_module_manifest_is_one_seedfarmer_and_the_module_accept(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = block("name", "churn-cicd")
    module = ModuleManifest(**raw)
    # The infra pipeline synthesizes the module from where seedfarmer finds it.
    (infra,) = [p["value"] for p in raw["parameters"] if p["name"] == "infra-repo"]
    assert infra["path"] == module.path
    for name in [n for n in os.environ if n.startswith(("SEEDFARMER_", "CDK_DEFAULT_"))]:
        monkeypatch.delenv(name)
    env = seedfarmer_environment(
        raw["parameters"], project="mlops", deployment="platform", module="models-churn-cicd"
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    groups = load_settings().parameters.deployment_groups
    assert [(g.name, g.source_branch, g.build_environment.type.value) for g in groups] == [
        ("dev", "dev", "dev"),
        ("release", "main", "preprod"),
    ]
    assert [e.name for e in groups[1].deploy_environments] == ["prod"]


def test_its_links_resolve_and_the_readme_links_it() -> None:
    links = re.findall(r"\]\((\.\./[^)#]+)", GUIDE.read_text())
    assert links
    for link in links:
        assert (GUIDE.parent / link).resolve().exists(), link
    assert "docs/zero-to-served-model.md" in (ROOT / "README.md").read_text()


def test_its_prod_approval_uses_the_deploy_pipeline_names(example_synth: Synth) -> None:
    """The guide approves stage ``release-prod``, action ``Approve``: stages are ``<group>-<environment>``."""
    assert "--stage-name release-prod --action-name Approve" in GUIDE.read_text()
    (pipeline,) = [
        r
        for _, _, r in example_synth.resources("AWS::CodePipeline::Pipeline")
        if "model-deploy" in str(r) and "prod-deployment-group" in str(r["Properties"].get("Name"))
    ]
    stages = {stage["Name"]: stage["Actions"] for stage in pipeline["Properties"]["Stages"]}
    assert stages["prod-deployment-group-prod-env"][0]["Name"] == "Approve"


def test_its_local_python_runs_in_a_venv_from_the_example_lock() -> None:
    """What the guide runs locally is installed by an earlier step, from the example's pinned lock."""
    commands = [
        line.strip()
        for block in re.findall(r"```bash\n(.*?)```", GUIDE.read_text(), re.DOTALL)
        for line in block.splitlines()
    ]
    install = "model-build-venv/bin/pip install --require-hashes -r churn-model-build/requirements-dev.txt"
    runs = [n for n, command in enumerate(commands) if re.match(r"\S*python3? -c", command)]
    assert runs
    assert install in commands
    assert commands.index(install) < runs[0]
    lock = (ROOT / "examples" / "model-build-repo" / "requirements-dev.txt").read_text()
    distributions = {"sklearn": "scikit-learn", "pandas": "pandas"}
    for n in runs:
        assert commands[n].startswith("model-build-venv/bin/python -c"), commands[n]
        imported = re.findall(r"\bfrom (\w+)[.\w]* import", commands[n])
        imported += re.findall(r"(?:\"|;)\s*import (\w+)", commands[n])
        assert imported
        for module in imported:
            assert re.search(rf"^{distributions[module]}==[\d.]+ ", lock, re.MULTILINE), module
