"""The pipeline definition, built offline from the variables the module's build project sets."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pipelines import run
from pipelines.contract import BuildContract, ContractError

from tests.conftest import CONTRACT


def print_definition() -> dict[str, Any]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert run.main(["--print-definition"]) == 0
    return json.loads(printed.getvalue())


@pytest.fixture(scope="module")
def definition() -> Iterator[dict[str, Any]]:
    """Built once for this module's tests (a build takes about a second)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CONTRACT.items():
            patch.setenv(name, value)
        yield print_definition()


def walk(node: object) -> Iterator[object]:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        yield from walk(child)


def steps(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for node in walk(pipeline["Steps"]):
        if isinstance(node, dict) and "Name" in node and "Type" in node and "Arguments" in node:
            found[node["Name"]] = node
    return found


def test_the_contract_is_the_module_variable_list() -> None:
    assert BuildContract.variables() == list(CONTRACT)


def test_missing_variables_are_all_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONTRACT:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ContractError) as caught:
        BuildContract.from_environment()
    for name in CONTRACT:
        assert name in str(caught.value)


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


def test_jobs_run_as_the_pipeline_role_in_the_build_region(definition: dict[str, Any]) -> None:
    jobs = {
        name: step for name, step in steps(definition).items() if step["Type"] in {"Processing", "Training"}
    }
    assert set(jobs) == {"Preprocess", "Train", "Evaluate"}
    for step in jobs.values():
        arguments = step["Arguments"]
        assert arguments["RoleArn"] == CONTRACT["SAGEMAKER_PIPELINE_ROLE_ARN"]
        image = (
            arguments.get("AppSpecification", {}).get("ImageUri")
            or arguments["AlgorithmSpecification"]["TrainingImage"]
        )
        assert f".ecr.{CONTRACT['AWS_REGION']}.amazonaws.com/" in image


def test_everything_written_stays_in_the_artifacts_bucket_under_its_key(definition: dict[str, Any]) -> None:
    found = steps(definition)
    bucket = f"s3://{CONTRACT['ARTIFACT_BUCKET']}/{CONTRACT['SAGEMAKER_PIPELINE_NAME']}"
    for name in ("Preprocess", "Evaluate"):
        config = found[name]["Arguments"]["ProcessingOutputConfig"]
        assert config["KmsKeyId"] == CONTRACT["ARTIFACT_BUCKET_KMS_KEY"]
        for output in config["Outputs"]:
            assert output["S3Output"]["S3Uri"]["Std:Join"]["Values"][0] == bucket
        code = [item for item in found[name]["Arguments"]["ProcessingInputs"] if item["InputName"] == "code"]
        assert code[0]["S3Input"]["S3Uri"].startswith(f"{bucket}/code/{run.code_version()}/")
    output = found["Train"]["Arguments"]["OutputDataConfig"]
    assert output == {
        "S3OutputPath": f"{bucket}/models",
        "KmsKeyId": CONTRACT["ARTIFACT_BUCKET_KMS_KEY"],
        "CompressionType": "GZIP",
    }


@pytest.mark.usefixtures("contract_environment")
def test_the_same_code_gives_the_same_definition(definition: dict[str, Any]) -> None:
    assert print_definition() == definition


def test_new_script_code_gets_a_new_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    (tmp_path / "preprocess.py").write_text("print('one')\n")
    (tmp_path / "evaluate.py").write_text("print('three')\n")
    monkeypatch.setattr(run, "SCRIPTS_DIR", tmp_path)
    first = run.code_version()
    (tmp_path / "preprocess.py").write_text("print('two')\n")
    assert run.code_version() != first
