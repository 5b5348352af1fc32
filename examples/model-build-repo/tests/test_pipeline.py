"""The pipeline definition, built offline from the variables the module's build project sets."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from pipelines import run
from pipelines.contract import BuildContract, ContractError

from tests.conftest import CONTRACT, Build, print_definition, steps

PIPELINES = Path(__file__).resolve().parent.parent / "pipelines"
KEY = CONTRACT["ARTIFACT_BUCKET_KMS_KEY"]
BUCKET = f"s3://{CONTRACT['ARTIFACT_BUCKET']}"


def jobs(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: step["Arguments"]
        for name, step in steps(definition).items()
        if step["Type"] in {"Processing", "Training"}
    }


def test_the_contract_is_the_module_variable_list() -> None:
    assert BuildContract.variables() == list(CONTRACT)


def test_missing_variables_are_all_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONTRACT:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ContractError) as caught:
        BuildContract.from_environment()
    for name in CONTRACT:
        assert name in str(caught.value)


def test_prefixes_come_without_slashes() -> None:
    given = {**CONTRACT, "MODEL_ARTIFACTS_PREFIX": "models/", "SAMPLE_PAYLOADS_PREFIX": "a/b"}
    with pytest.raises(
        ContractError, match=r"without slashes: MODEL_ARTIFACTS_PREFIX, SAMPLE_PAYLOADS_PREFIX$"
    ):
        BuildContract.from_environment(given)


def test_run_without_the_contract_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in CONTRACT:
        monkeypatch.setenv(name, CONTRACT[name])
    monkeypatch.delenv("MODEL_PACKAGE_GROUP_NAME")
    assert run.main(["--print-definition"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "MODEL_PACKAGE_GROUP_NAME" in err
    assert "Traceback" not in err


def test_preprocess_train_evaluate_then_register_only_if_good_enough(definition: dict[str, Any]) -> None:
    pipeline = definition
    assert [step["Name"] for step in pipeline["Steps"]] == ["Preprocess", "Train", "Evaluate", "CheckQuality"]
    gate = pipeline["Steps"][3]["Arguments"]
    assert [step["Name"] for step in gate["IfSteps"]] == ["Register"]
    assert [step["Type"] for step in gate["ElseSteps"]] == ["Fail"]
    assert gate["Conditions"][0]["Type"] == "GreaterThanOrEqualTo"


def test_versions_go_to_the_group_registry_waiting_for_approval(definition: dict[str, Any]) -> None:
    register = steps(definition)["Register"]
    assert register["Type"] == "RegisterModel"
    arguments = register["Arguments"]
    assert arguments["ModelPackageGroupName"] == CONTRACT["MODEL_PACKAGE_GROUP_NAME"]
    assert arguments["ModelApprovalStatus"] == "PendingManualApproval"
    assert arguments["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == {
        "Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"
    }
    assert CONTRACT["PROJECT_NAME"] in arguments["ModelPackageDescription"]
    assert CONTRACT["ENV_TYPE"] in arguments["ModelPackageDescription"]


def test_the_registered_container_serves_the_built_in_model_from_csv(definition: dict[str, Any]) -> None:
    """Script-mode variables, even empty, make the XGBoost serving stack import a user script."""
    specification = steps(definition)["Register"]["Arguments"]["InferenceSpecification"]
    (container,) = specification["Containers"]
    assert not {"SAGEMAKER_PROGRAM", "SAGEMAKER_SUBMIT_DIRECTORY"} & set(container.get("Environment", {}))
    assert container["Image"].endswith("/sagemaker-xgboost:1.7-1")
    assert specification["SupportedContentTypes"] == ["text/csv"]
    assert specification["SupportedResponseMIMETypes"] == ["text/csv"]
    # The module's endpoint.instanceType decides; a list here would go stale when it changes.
    assert "SupportedRealtimeInferenceInstanceTypes" not in specification


def test_the_sample_payload_is_one_archive_under_the_samples_prefix(definition: dict[str, Any]) -> None:
    found = steps(definition)
    payload = found["Register"]["Arguments"]["SamplePayloadUrl"]["Std:Join"]
    assert payload["Values"] == [
        {"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['samples'].S3Output.S3Uri"},
        "payload.tar.gz",
    ]
    (samples,) = [
        output
        for output in found["Preprocess"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
        if output["OutputName"] == "samples"
    ]
    assert samples["S3Output"]["LocalPath"] == "/opt/ml/processing/samples"
    under = samples["S3Output"]["S3Uri"]["Std:Join"]["Values"][0]
    assert under == f"{BUCKET}/{CONTRACT['SAMPLE_PAYLOADS_PREFIX']}/{CONTRACT['SAGEMAKER_PIPELINE_NAME']}"


def test_jobs_run_as_the_pipeline_role_in_the_build_region(definition: dict[str, Any]) -> None:
    found = jobs(definition)
    assert set(found) == {"Preprocess", "Train", "Evaluate"}
    for arguments in found.values():
        assert arguments["RoleArn"] == CONTRACT["SAGEMAKER_PIPELINE_ROLE_ARN"]
        image = (
            arguments.get("AppSpecification", {}).get("ImageUri")
            or arguments["AlgorithmSpecification"]["TrainingImage"]
        )
        assert f".ecr.{CONTRACT['BUILD_REGION']}.amazonaws.com/" in image


def test_every_job_is_network_isolated_on_volumes_under_the_group_key(definition: dict[str, Any]) -> None:
    found = jobs(definition)
    for name in ("Preprocess", "Evaluate"):
        assert found[name]["NetworkConfig"] == {"EnableNetworkIsolation": True}
        assert found[name]["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY
    assert found["Train"]["EnableNetworkIsolation"] is True
    assert found["Train"]["ResourceConfig"]["VolumeKmsKeyId"] == KEY


def test_everything_written_stays_in_the_artifacts_bucket_under_its_key(definition: dict[str, Any]) -> None:
    found = steps(definition)
    pipeline = f"{BUCKET}/{CONTRACT['SAGEMAKER_PIPELINE_NAME']}"
    samples = f"{BUCKET}/{CONTRACT['SAMPLE_PAYLOADS_PREFIX']}/{CONTRACT['SAGEMAKER_PIPELINE_NAME']}"
    for name in ("Preprocess", "Evaluate"):
        config = found[name]["Arguments"]["ProcessingOutputConfig"]
        assert config["KmsKeyId"] == KEY
        for output in config["Outputs"]:
            expected = samples if output["OutputName"] == "samples" else pipeline
            assert output["S3Output"]["S3Uri"]["Std:Join"]["Values"][0] == expected
        code = [item for item in found[name]["Arguments"]["ProcessingInputs"] if item["InputName"] == "code"]
        prefix = f"{BUCKET}/{CONTRACT['PIPELINE_CODE_PREFIX']}/{run.code_version()}/"
        assert code[0]["S3Input"]["S3Uri"].startswith(prefix)
    # The one prefix the deploy accounts may read.
    models = f"{BUCKET}/{CONTRACT['MODEL_ARTIFACTS_PREFIX']}/{CONTRACT['SAGEMAKER_PIPELINE_NAME']}"
    assert found["Train"]["Arguments"]["OutputDataConfig"] == {
        "S3OutputPath": models,
        "KmsKeyId": KEY,
        "CompressionType": "GZIP",
    }


@pytest.mark.usefixtures("contract_environment")
def test_the_same_code_gives_the_same_definition(definition: dict[str, Any]) -> None:
    assert print_definition() == definition


def test_defining_the_pipeline_sends_no_telemetry(build: Build) -> None:
    """The SDK sends usage events unless its defaults opt out; the session carries the opt-out."""
    assert build.telemetry == []


def test_new_script_code_gets_a_new_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    (tmp_path / "preprocess.py").write_text("print('one')\n")
    (tmp_path / "evaluate.py").write_text("print('three')\n")
    monkeypatch.setattr(run, "SCRIPTS_DIR", tmp_path)
    first = run.code_version()
    (tmp_path / "preprocess.py").write_text("print('two')\n")
    assert run.code_version() != first


def warns_deprecated_on_import(module: str) -> bool:
    """Whether a module's own top level warns that it is deprecated (the SDK's moved-module shims do)."""
    spec = importlib.util.find_spec(module)
    assert spec
    assert spec.origin
    tree = ast.parse(Path(spec.origin).read_text())
    return any(isinstance(node, ast.Expr) and "DeprecationWarning" in ast.unparse(node) for node in tree.body)


def test_the_sdk_is_imported_from_its_current_modules() -> None:
    imported = {
        node.module
        for path in PIPELINES.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sagemaker")
    }
    assert "sagemaker.core.training.configs" in imported
    assert warns_deprecated_on_import("sagemaker.train.configs")  # what the check looks for
    assert [module for module in sorted(imported) if warns_deprecated_on_import(module)] == []
