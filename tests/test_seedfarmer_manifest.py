"""seedfarmer_manifest.py: ``-c manifest=`` turns a seedfarmer manifest into the variables
``seedfarmer apply`` would set, naming the module as seedfarmer does (the guide's deployment manifest,
read beside seedfarmer's own code: test_guide)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seedfarmer_manifest import manifest_environment
from settings import SettingsError
from tests.conftest import ROOT, seedfarmer_environment


def test_manifest_value_from_cannot_be_resolved_offline(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "name: models\nparameters:\n  - name: infra-repo\n    valueFrom:\n      parameterStore: /infra/repo\n"
    )
    with pytest.raises(SettingsError) as raised:
        manifest_environment(str(manifest), {"account": "111111111111", "region": "us-east-1"}, {})
    assert raised.value.problems == [
        f"infra-repo: valueFrom (parameterStore) cannot be resolved offline; give it a literal value in a "
        f"copy of {manifest}"
    ]


def test_manifest_file_wins_over_seedfarmer_variables_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What ``-c manifest=`` hands the app (the Quick start synthesizes through it end to end)."""
    environ = seedfarmer_environment()
    environ["SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS"] = "not even json"
    manifest = str(ROOT / "examples" / "sample-ml-model-name.yaml")
    env = manifest_environment(manifest, {"project": "trial", "account": "222222222222"}, environ)
    assert "warning: -c manifest=" in capsys.readouterr().err
    groups = json.loads(env["SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS"])
    assert [g["name"] for g in groups] == ["experimenation-deployment-group", "prod-deployment-group"]
    assert env["SEEDFARMER_PARAMETER_INFRA_REPO"] == '{"host": "codecommit", "name": "cdk-infra-repo"}'
    assert (env["SEEDFARMER_PROJECT_NAME"], env["SEEDFARMER_DEPLOYMENT_NAME"]) == ("trial", "local")
    assert env["SEEDFARMER_MODULE_NAME"] == "sample-ml-model-name"
    assert env["CDK_DEFAULT_ACCOUNT"] == "222222222222"
    assert env["CDK_DEFAULT_REGION"] == "us-east-1", "from the environment when -c region= is not given"


@pytest.mark.parametrize(
    ("context", "module", "note"),
    [
        ({"group": "models"}, "models-sample-ml-model-name", False),
        ({}, "sample-ml-model-name", True),
        ({"group": "models", "module": "models-override"}, "models-override", False),
    ],
)
def test_the_module_is_named_as_seedfarmer_names_it(
    context: dict[str, str], module: str, note: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seedfarmer names the module <group>-<module>; every name the module creates derives from it."""
    manifest = str(ROOT / "examples" / "sample-ml-model-name.yaml")
    env = manifest_environment(manifest, context, {})
    assert env["SEEDFARMER_MODULE_NAME"] == module
    assert ("note: no -c group=" in capsys.readouterr().err) is note
