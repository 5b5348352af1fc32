"""The pipelines' shared parts (blocks/pipelines.py): synth steps, pinned CDK tools, artifact stores and
their replicas, read from the shared synths."""

from __future__ import annotations

import json
import re

from blocks.pipelines import pinned_cdk_tools
from tests.conftest import ROOT, TOOLING_ACCOUNT, Synth
from tests.template_harness import template


def test_synth_steps_start_warm_from_a_cache_in_their_own_artifact_bucket(example_synth: Synth) -> None:
    """pip's and npm's downloads survive between runs, in the bucket the step already reads and writes."""
    synths = [
        (stack, r["Properties"])
        for stack, _, r in example_synth.resources("AWS::CodeBuild::Project")
        if "npx cdk synth" in json.dumps(r["Properties"]["Source"])
    ]
    assert len(synths) == 3  # the infra pipeline's and each group's deploy pipeline's
    for stack, project in synths:
        (bucket,) = [
            k
            for k, r in stack.template["Resources"].items()
            if k.startswith("ArtifactStoreBucket") and r["Type"] == "AWS::S3::Bucket"
        ]
        assert project["Cache"] == {
            "Location": {"Fn::Join": ["/", [{"Ref": bucket}, "synth-cache"]]},
            "Type": "S3",
        }
        buildspec = json.loads(project["Source"]["BuildSpec"])
        assert buildspec["cache"]["paths"] == ["/root/.cache/pip/**/*", "/root/.npm/**/*"]
        assert project["Environment"]["Image"] == "aws/codebuild/standard:7.0"


def test_the_synths_cli_is_the_lock_files_which_is_the_pinned_version() -> None:
    """``npm ci`` installs exactly what package-lock.json says; it must agree with package.json's pin."""
    lock = json.loads((ROOT / "package-lock.json").read_text())
    tools = pinned_cdk_tools()
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == tools.cli
    assert lock["packages"]["node_modules/cdk-assets"]["version"] == tools.assets


def test_every_cdk_tool_a_pipeline_installs_is_the_pinned_version(example_synth: Synth) -> None:
    """Synth, self-mutation and asset publishing alike: never what npm calls ``2`` or ``latest`` that day."""
    tools = pinned_cdk_tools()
    pinned = {"aws-cdk": tools.cli, "cdk-assets": tools.assets}
    installed: dict[str, list[str]] = {}
    for stack, logical_id, project in example_synth.resources("AWS::CodeBuild::Project"):
        where = f"{stack.display_name}/{logical_id}"
        buildspec = json.dumps(project["Properties"]["Source"].get("BuildSpec", ""))
        assert "@latest" not in buildspec, where
        for command in re.findall(r"npm (?:install|i) ([^\"\\]*)", buildspec):
            for package in command.split():
                name, at, version = package.rpartition("@") if package.rfind("@") > 0 else (package, "", "")
                if name in pinned or "cdk" in name:
                    assert at, f"{where} installs {package} unpinned"
                    assert version == pinned.get(name), f"{where} installs {package}"
                    installed.setdefault(name, []).append(where)
    assert set(installed) == set(pinned), "the self-mutation and asset steps were all found"
    assert any("SelfMutation" in where for where in installed["aws-cdk"])


def test_pipeline_artifacts_are_encrypted_with_a_rotated_key(example_synth: Synth) -> None:
    top = template(example_synth, "MlopsCicd")
    top.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    pipeline = next(r for _, _, r in example_synth.resources("AWS::CodePipeline::Pipeline"))
    store = pipeline["Properties"]["ArtifactStore"]
    assert store["EncryptionKey"]["Type"] == "KMS"


def test_infra_pipeline_synthesizes_in_the_module_folder(long_names_synth: Synth) -> None:
    synth = next(
        r["Properties"]
        for _, _, r in long_names_synth.resources("AWS::CodeBuild::Project")
        if "cdk synth" in json.dumps(r["Properties"]["Source"])
    )
    buildspec = json.loads(synth["Source"]["BuildSpec"])
    assert buildspec["phases"]["build"]["commands"][0] == "cd modules/sagemaker/sagemaker-model-cicd"
    assert buildspec["artifacts"]["base-directory"] == "modules/sagemaker/sagemaker-model-cicd/cdk.out"


def test_artifact_replication_goes_with_the_module(long_names_synth: Synth) -> None:
    """Copies of pipeline artifacts in another region: emptied and deleted, so a redeploy finds no bucket."""
    support = {
        stack.stack_name: stack
        for stack in long_names_synth.stacks.values()
        if "-support-" in stack.stack_name
    }
    # The infra pipeline's and the eu-west-1 group's deploy pipeline's, in that region, tooling account.
    assert len(support) == 2
    for stack in support.values():
        assert (stack.account, stack.region) == (TOOLING_ACCOUNT, "eu-west-1")
        assert stack.stack_name.endswith("-support-eu-west-1")
        assert len(stack.stack_name) <= 128
        resources = stack.template["Resources"].values()
        buckets = [r for r in resources if r["Type"] == "AWS::S3::Bucket"]
        assert len(buckets) == 2  # the replication bucket and its access logs
        assert all(r["DeletionPolicy"] == "Delete" for r in resources if "DeletionPolicy" in r)
        emptied = {
            r["Properties"]["BucketName"]["Ref"]
            for r in resources
            if r["Type"] == "Custom::S3AutoDeleteObjects"
        }
        assert len(emptied) == 2
        keys = [r for r in resources if r["Type"] == "AWS::KMS::Key"]
        assert [k["Properties"]["EnableKeyRotation"] for k in keys] == [True]
