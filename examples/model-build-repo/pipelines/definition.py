"""The SageMaker pipeline: preprocess, train, evaluate, and register a version if it is good enough.

Built from the contract alone, without AWS calls: the scripts are referred to by their S3 address,
which ``pipelines.run`` uploads before it creates or updates the pipeline. That keeps the definition
testable offline and identical for identical code.

Every job runs network-isolated (SageMaker moves its data in and out; nothing in it needs the
internet while it holds the role's credentials) on volumes encrypted with the group's key.
"""

from __future__ import annotations

import jsonschema
from sagemaker.core import image_uris
from sagemaker.core.config.config_manager import SageMakerConfig
from sagemaker.core.config.config_schema import SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.network import NetworkConfig
from sagemaker.core.processing import ScriptProcessor
from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
from sagemaker.core.training.configs import Compute, InputData, Networking, OutputDataConfig
from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train.model_trainer import ModelTrainer

from pipelines.contract import BuildContract

SKLEARN_VERSION = "1.2-1"
XGBOOST_VERSION = "1.7-1"
PROCESSING_INSTANCE = "ml.m5.large"
TRAINING_INSTANCE = "ml.m5.large"
# Tested against the diabetes data the README suggests (tests/test_training.py): shallow trees and a
# slow rate generalise on a few hundred rows, where deeper, faster ones overfit below the gate.
HYPERPARAMETERS = {
    "objective": "reg:squarederror",
    "num_round": 150,
    "max_depth": 2,
    "eta": 0.05,
    "subsample": 0.8,
}
MIN_R2 = 0.2
# What preprocess.py writes as the sample payload, and the one content type the endpoint serves.
SAMPLE_PAYLOAD = "payload.tar.gz"
CONTENT_TYPE = "text/csv"
# The SDK's usage telemetry, off: the build and its jobs talk to the group's AWS accounts only.
SDK_DEFAULTS = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


def _check_sdk_config_schema_once() -> None:
    """Keep the SDK's config validation, without checking its fixed schema again at every lookup.

    With any config, the SDK validates it with ``jsonschema.validate`` at each of some 45 lookups per
    definition, and that call first validates the schema itself: 25 of 33 s of a definition build. The
    validator below checks the schema once and then validates every config exactly as before.
    """
    schema_validator = jsonschema.validators.validator_for(SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA)
    schema_validator.check_schema(SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA)
    validator = schema_validator(SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA)

    def validate_sagemaker_config(sagemaker_config: dict[str, object] | None = None) -> None:
        validator.validate(sagemaker_config)

    SageMakerConfig.validate_sagemaker_config = staticmethod(validate_sagemaker_config)  # type: ignore[method-assign]


_check_sdk_config_schema_once()
# Every version waits for a person in the registry; approving it is what starts the deploy pipeline.
APPROVAL_STATUS = "PendingManualApproval"


class ArtifactsSession(PipelineSession):
    """A pipeline session whose default bucket is the group's artifacts bucket, taken as given.

    The SDK would otherwise list the account's buckets to check that its default bucket exists
    (and create one if not); the module made this bucket, and the build role may not list buckets.
    Its SDK defaults are this repository's own, not whatever config files the machine holds.
    """

    def __init__(self, contract: BuildContract, boto_session: object) -> None:
        super().__init__(
            boto_session=boto_session, default_bucket=contract.artifact_bucket, sagemaker_config=SDK_DEFAULTS
        )
        self._artifacts_bucket = contract.artifact_bucket

    def default_bucket(self) -> str:
        return self._artifacts_bucket


def scripts_prefix(contract: BuildContract, code_version: str) -> str:
    """Where this code version's scripts live: the one prefix the build-account role may write to."""
    return f"s3://{contract.artifact_bucket}/{contract.pipeline_code_prefix}/{code_version}"


def build_pipeline(contract: BuildContract, session: PipelineSession, code_version: str) -> Pipeline:
    """The pipeline definition for this contract; ``code_version`` names the uploaded scripts."""
    role = contract.sagemaker_pipeline_role_arn
    key = contract.artifact_bucket_kms_key
    region = contract.build_region
    bucket = f"s3://{contract.artifact_bucket}"
    base = f"{bucket}/{contract.sagemaker_pipeline_name}"
    code = scripts_prefix(contract, code_version)

    input_data = ParameterString("InputDataUrl", default_value=f"s3://{contract.artifact_bucket}/datasets/")
    target_column = ParameterString("TargetColumn", default_value="target")
    min_r2 = ParameterFloat("MinR2", default_value=MIN_R2)

    sklearn_image = image_uris.retrieve("sklearn", region, version=SKLEARN_VERSION)
    xgboost_image = image_uris.retrieve("xgboost", region, version=XGBOOST_VERSION)

    def processor(name: str, image: str) -> ScriptProcessor:
        return ScriptProcessor(
            role=role,
            image_uri=image,
            command=["python3"],
            instance_count=1,
            instance_type=PROCESSING_INSTANCE,
            output_kms_key=key,
            volume_kms_key=key,
            network_config=NetworkConfig(enable_network_isolation=True),
            base_job_name=f"{contract.project_name}-{name}",
            sagemaker_session=session,
        )

    def s3_in(name: str, source: object, destination: str) -> ProcessingInput:
        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(
                s3_uri=source, local_path=destination, s3_data_type="S3Prefix", s3_input_mode="File"
            ),
        )

    def s3_out(name: str, source: str, step: str, under: str = base) -> ProcessingOutput:
        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=Join(
                    on="/", values=[under, "executions", ExecutionVariables.PIPELINE_EXECUTION_ID, step, name]
                ),
                local_path=source,
                s3_upload_mode="EndOfJob",
            ),
        )

    preprocess = ProcessingStep(
        name="Preprocess",
        step_args=processor("preprocess", sklearn_image).run(
            code=f"{code}/preprocess.py",
            inputs=[s3_in("raw", input_data, "/opt/ml/processing/raw")],
            outputs=[
                *(
                    s3_out(split, f"/opt/ml/processing/{split}", "preprocess")
                    for split in ("train", "validation", "test")
                ),
                # Where the deploy side's smoke test may read it.
                s3_out(
                    "samples",
                    "/opt/ml/processing/samples",
                    "preprocess",
                    under=f"{bucket}/{contract.sample_payloads_prefix}/{contract.sagemaker_pipeline_name}",
                ),
            ],
            arguments=["--target-column", target_column],
        ),
    )

    def split_url(split: str) -> object:
        return preprocess.properties.ProcessingOutputConfig.Outputs[split].S3Output.S3Uri

    trainer = ModelTrainer(
        training_image=xgboost_image,
        role=role,
        base_job_name=f"{contract.project_name}-train",
        compute=Compute(
            instance_type=TRAINING_INSTANCE, instance_count=1, volume_size_in_gb=30, volume_kms_key_id=key
        ),
        networking=Networking(enable_network_isolation=True),
        # The one prefix deploy accounts may read.
        output_data_config=OutputDataConfig(
            s3_output_path=f"{bucket}/{contract.model_artifacts_prefix}/{contract.sagemaker_pipeline_name}",
            kms_key_id=key,
        ),
        hyperparameters=HYPERPARAMETERS,
        sagemaker_session=session,
    )
    train = TrainingStep(
        name="Train",
        step_args=trainer.train(
            input_data_config=[
                InputData(channel_name=split, data_source=split_url(split), content_type=CONTENT_TYPE)
                for split in ("train", "validation")
            ]
        ),
    )
    model_data = train.properties.ModelArtifacts.S3ModelArtifacts

    evaluation_report = PropertyFile(name="Evaluation", output_name="evaluation", path="evaluation.json")
    evaluate = ProcessingStep(
        name="Evaluate",
        step_args=processor("evaluate", xgboost_image).run(
            code=f"{code}/evaluate.py",
            inputs=[
                s3_in("model", model_data, "/opt/ml/processing/model"),
                s3_in("test", split_url("test"), "/opt/ml/processing/test"),
            ],
            outputs=[s3_out("evaluation", "/opt/ml/processing/evaluation", "evaluate")],
        ),
        property_files=[evaluation_report],
    )
    evaluation_url = evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri
    samples_url = preprocess.properties.ProcessingOutputConfig.Outputs["samples"].S3Output.S3Uri

    register = ModelStep(
        name="Register",
        step_args=ModelBuilder(
            image_uri=xgboost_image,
            s3_model_data_url=model_data,
            role_arn=role,
            sagemaker_session=session,
            # The SDK's default ({"auto": True}) registers script-mode variables with empty values,
            # which send the XGBoost serving stack looking for a user script; without them it serves
            # the built-in model.
            dependencies=None,
        ).register(
            model_package_group_name=contract.model_package_group_name,
            approval_status=APPROVAL_STATUS,
            content_types=[CONTENT_TYPE],
            response_types=[CONTENT_TYPE],
            # No instance types: each environment's endpoint.instanceType in the module decides.
            sample_payload_url=Join(on="/", values=[samples_url, SAMPLE_PAYLOAD]),
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(
                    s3_uri=Join(on="/", values=[evaluation_url, "evaluation.json"]),
                    content_type="application/json",
                )
            ),
            description=f"{contract.project_name} ({contract.env_type})",
        ),
    )
    good_enough = ConditionStep(
        name="CheckQuality",
        conditions=[
            ConditionGreaterThanOrEqualTo(
                left=JsonGet(
                    step_name=evaluate.name,
                    property_file=evaluation_report,
                    json_path="regression_metrics.r2.value",
                ),
                right=min_r2,
            )
        ],
        if_steps=[register],
        else_steps=[
            FailStep(
                name="TooInaccurate",
                error_message=Join(on=" ", values=["R2 on the test set is below MinR2 =", min_r2]),
            )
        ],
    )
    return Pipeline(
        name=contract.sagemaker_pipeline_name,
        parameters=[input_data, target_column, min_r2],
        steps=[preprocess, train, evaluate, good_enough],
        sagemaker_session=session,
        # Experiment tracking would need SageMaker Experiments permissions the module does not grant.
        pipeline_experiment_config=None,
    )
