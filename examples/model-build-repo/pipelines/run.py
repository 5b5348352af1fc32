"""Create or update this branch's SageMaker pipeline in the build account, then start it.

The buildspec runs this after assuming ASSUME_ROLE_ARN. It does not wait for the execution: the
assumed role's chained session lasts at most an hour, and that role may write only the job
scripts and may not touch the model registry (the pipeline registers, as its own role).
``--print-definition`` prints the pipeline definition instead and needs no AWS access.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import boto3

from pipelines.contract import BuildContract, ContractError

SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "scripts"
# What the processing jobs run: uploaded, and digested into the prefix they are uploaded under.
SCRIPTS = ("preprocess.py", "evaluate.py")


def code_version() -> str:
    """A digest of the job scripts: new code gets a new S3 prefix, the same code the same one."""
    digest = hashlib.sha256()
    for name in sorted(SCRIPTS):
        digest.update(name.encode() + b"\0" + (SCRIPTS_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def role_name(arn: str) -> str:
    """The last path part of a role ARN, as it shows in an assumed-role session ARN."""
    return arn.rsplit("/", 1)[-1]


def main(argv: list[str] | None = None) -> int:
    """Exit status 2 when the contract is incomplete, 1 when not running as the build-account role."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--print-definition", action="store_true", help="print the definition; no AWS calls")
    args = parser.parse_args(argv)
    try:
        contract = BuildContract.from_environment()
    except ContractError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    # Imported late: the SDK is slow to import and needs a region while it does.
    from pipelines.definition import ArtifactsSession, build_pipeline, scripts_prefix  # noqa: PLC0415

    boto_session = boto3.Session(region_name=contract.build_region)
    version = code_version()
    if args.print_definition:
        pipeline = build_pipeline(contract, ArtifactsSession(contract, boto_session), version)
        print(json.dumps(json.loads(pipeline.definition()), indent=2, sort_keys=True))
        return 0

    identity = boto_session.client("sts").get_caller_identity()["Arn"]
    if f":assumed-role/{role_name(contract.assume_role_arn)}/" not in identity:
        print(
            f"error: running as {identity}, not as ASSUME_ROLE_ARN; the buildspec assumes it first",
            file=sys.stderr,
        )
        return 1

    pipeline = build_pipeline(contract, ArtifactsSession(contract, boto_session), version)

    s3 = boto_session.client("s3")
    prefix = scripts_prefix(contract, version).removeprefix(f"s3://{contract.artifact_bucket}/")
    for name in SCRIPTS:
        s3.put_object(
            Bucket=contract.artifact_bucket,
            Key=f"{prefix}/{name}",
            Body=(SCRIPTS_DIR / name).read_bytes(),
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=contract.artifact_bucket_kms_key,
        )

    pipeline.upsert(
        role_arn=contract.sagemaker_pipeline_role_arn,
        description=contract.sagemaker_pipeline_description,
        tags=[
            {"Key": "project", "Value": contract.project_name},
            {"Key": "environment-type", "Value": contract.env_type},
        ],
    )
    execution = pipeline.start()
    print(f"started {execution.arn}")
    print(f"follow it in SageMaker Studio ({contract.build_region}): {contract.sagemaker_pipeline_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
