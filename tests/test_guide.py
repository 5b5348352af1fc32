"""docs/zero-to-served-model.md: manifests seedfarmer loads and resolves as it applies them; its links.

test_docs runs the guide's commands; here its manifests go through seedfarmer's own code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import seedfarmer
import yaml
from seedfarmer.commands import _deployment_commands
from seedfarmer.mgmt.module_info import get_deployspec_path
from seedfarmer.models import ProjectSpec
from seedfarmer.models.manifests import DeploymentManifest, ModuleManifest
from seedfarmer.services.session_manager import SessionManagerRemoteImpl

from seedfarmer_manifest import manifest_environment
from settings import SettingsError, load_settings
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


def guide_files() -> dict[str, str]:
    """The files the guide writes, by the path it names just before each one's YAML."""
    text = GUIDE.read_text()
    return dict(
        re.findall(r"^`([\w./-]+\.yaml)`[^\n]*:\n\n```yaml\n(.*?)```", text, re.MULTILINE | re.DOTALL)
    )


class ReachedAws(BaseException):
    """Raised where ``seedfarmer apply`` first reaches for AWS; a BaseException so no handler eats it."""

    def __init__(self, manifest: DeploymentManifest) -> None:
        super().__init__("seedfarmer apply reached AWS")
        self.manifest = manifest


@pytest.fixture
def infra_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The guide's infra repository (its files, the module as this clone), seedfarmer run inside it offline.

    Seedfarmer's session, identity lookup and account priming are stubbed; everything before them
    (reading seedfarmer.yaml, the deployment manifest, each group's module manifests) is its own code.
    """
    for name, content in guide_files().items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    (tmp_path / "modules" / "sagemaker").mkdir(parents=True)
    (tmp_path / "modules" / "sagemaker" / "sagemaker-model-cicd").symlink_to(ROOT)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(seedfarmer.config, "_OPS_ROOT", None)
    monkeypatch.setattr(seedfarmer.config, "_project_spec", None)
    monkeypatch.setattr(SessionManagerRemoteImpl, "get_or_create", lambda self, **_: self)
    monkeypatch.setattr(SessionManagerRemoteImpl, "toolchain_session", None)
    monkeypatch.setattr(
        _deployment_commands, "get_sts_identity_info", lambda session: ("111111111111", "arn", "aws")
    )

    def prime_target_accounts(deployment_manifest: DeploymentManifest, **_: object) -> None:
        raise ReachedAws(deployment_manifest)

    monkeypatch.setattr(_deployment_commands, "prime_target_accounts", prime_target_accounts)
    return tmp_path


def test_the_guide_writes_its_three_files() -> None:
    assert sorted(guide_files()) == [
        "manifests/deployment.yaml",
        "manifests/models/churn-cicd.yaml",
        "seedfarmer.yaml",
    ]


def test_seedfarmer_apply_loads_the_guides_manifests_and_finds_the_module(infra_repo: Path) -> None:
    with pytest.raises(ReachedAws) as reached:
        _deployment_commands.apply("manifests/deployment.yaml", dryrun=True)
    manifest = reached.value.manifest
    ((group, module),) = [(g.name, m) for g in manifest.groups for m in g.modules]
    assert (group, module.name) == ("models", "churn-cicd")
    # Seedfarmer's own resolution of a local module path: the module's folder, holding its deployspec.
    assert Path(get_deployspec_path(str(module.get_local_path()))).resolve() == ROOT / "deployspec.yaml"
    # -c manifest= given the same deployment manifest names everything as seedfarmer will deploy it.
    env = manifest_environment("manifests/deployment.yaml", {}, {})
    assert env["SEEDFARMER_PROJECT_NAME"] == seedfarmer.config.PROJECT == "mlops"
    assert env["SEEDFARMER_DEPLOYMENT_NAME"] == manifest.name == "platform"
    assert env["SEEDFARMER_MODULE_NAME"] == f"{group}-{module.name}"
    assert env["CDK_DEFAULT_ACCOUNT"] == module.get_target_account_id() == "111111111111"
    assert env["CDK_DEFAULT_REGION"] == module.target_region == "us-east-1"


def test_a_group_path_that_is_a_folder_fails_seedfarmer_and_the_synth(
    infra_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the guide once said: seedfarmer opens a group's path as one file."""
    deployment = infra_repo / "manifests" / "deployment.yaml"
    deployment.write_text(
        deployment.read_text().replace("path: manifests/models/churn-cicd.yaml", "path: manifests/models/")
    )
    with pytest.raises(SystemExit):
        _deployment_commands.apply("manifests/deployment.yaml", dryrun=True)
    assert "Is a directory" in capsys.readouterr().out.replace("\n", "")
    with pytest.raises(SettingsError) as raised:
        manifest_environment("manifests/deployment.yaml", {}, {})
    assert raised.value.problems == [
        "manifest: group models: path manifests/models/ is a folder; seedfarmer opens each group's path as "
        "one file of module manifests"
    ]


@pytest.mark.usefixtures("strict_seedfarmer")
def test_the_module_manifest_is_one_seedfarmer_and_the_module_accept() -> None:
    raw = block("name", "churn-cicd")
    module = ModuleManifest(**raw)
    # The infra pipeline synthesizes the module from where seedfarmer finds it.
    (infra,) = [p["value"] for p in raw["parameters"] if p["name"] == "infra-repo"]
    assert infra["path"] == module.path
    env = seedfarmer_environment(
        raw["parameters"], project="mlops", deployment="platform", module="models-churn-cicd"
    )
    groups = load_settings(env).parameters.deployment_groups
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


def test_a_deployment_manifest_value_yaml_did_not_read_as_a_string_is_named(infra_repo: Path) -> None:
    deployment = infra_repo / "manifests" / "deployment.yaml"
    deployment.write_text(
        deployment.read_text().replace("accountId: '111111111111'", "accountId: 0111111111")
    )
    with pytest.raises(SettingsError) as raised:
        manifest_environment("manifests/deployment.yaml", {}, {})
    assert raised.value.problems == [
        "manifest: account is 19173961, not a string; quote it, or give it with -c account="
    ]
    env = manifest_environment("manifests/deployment.yaml", {"account": "111111111111"}, {})
    assert env["CDK_DEFAULT_ACCOUNT"] == "111111111111"
