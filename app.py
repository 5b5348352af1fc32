"""Seedfarmer entry point: settings -> MlopsCicdStack -> cdk-nag -> synth; nothing else.

Run by ``seedfarmer apply`` (settings from its variables), by the pipelines' synth steps (the same
variables, carried), or by hand with ``scripts/cdk.sh synth -c manifest=FILE`` (see seedfarmer_manifest).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from plan import deployment_plan
from quotas import TOP_STACK_ID, check_templates
from seedfarmer_manifest import manifest_environment
from settings import SettingsError, load_settings
from stack import MlopsCicdStack

CDK_JSON = Path(__file__).with_name("cdk.json")


def validation_plugins(app: cdk.App) -> list[cdk.IPolicyValidationPlugin]:
    """cdk-nag on every synth; CDK's CloudFormation validation with ``-c validate=true`` (see build_app)."""
    plugins: list[cdk.IPolicyValidationPlugin] = [AwsSolutionsChecks(app)]
    if str(app.node.try_get_context("validate")).lower() == "true":
        plugins.append(cdk.CloudFormationValidatePlugin())
    return plugins


def build_app(
    outdir: str | None = None,
    environ: Mapping[str, str] | None = None,
    context: Mapping[str, object] | None = None,
) -> tuple[cdk.App, list[str]]:
    """The module's app, with cdk.json's feature flags even when run without the CDK CLI, and its plan.

    CDK's built-in CloudFormation validation runs only with ``-c validate=true`` (seedfarmer's deploy
    and the test suite pass it): it took 1.5 of 4.5 s of the README example's synth and 5 of 21 s at
    fifty groups, on every synth of every pipeline.
    """
    app = cdk.App(
        context={**json.loads(CDK_JSON.read_text())["context"], **(context or {})},
        outdir=outdir,
        builtin_cloud_formation_validation=False,
        # No AWS::CDK::Metadata: its analytics string changes with the plugins loaded, so templates
        # would differ with and without -c validate=true.
        analytics_reporting=False,
    )
    environment: Mapping[str, str] = os.environ if environ is None else environ  # read, never written
    manifest = app.node.try_get_context("manifest")
    if manifest:
        context = {
            key: app.node.try_get_context(key)
            for key in ("project", "deployment", "group", "module", "account", "region")
        }
        environment = manifest_environment(manifest, context, environment)
    settings = load_settings(environment)
    if settings.approved_model_info is None:
        print(
            "note: APPROVED_MODEL_INFO is not set: endpoint stacks are placeholders, which the deploy "
            "pipelines never deploy",
            file=sys.stderr,
        )
    stack = MlopsCicdStack(app, TOP_STACK_ID, settings=settings)
    cdk.Validations.of(app).add_plugins(*validation_plugins(app))
    return app, deployment_plan(settings, infra_pipeline_name=stack.pipeline_name)


def _report(error: SettingsError) -> int:
    for problem in error.problems:
        print(f"error: {problem}", file=sys.stderr)
    return 2


def main(
    environ: Mapping[str, str] | None = None,
    outdir: str | None = None,
    context: Mapping[str, object] | None = None,
) -> int:
    """Synthesize the module, or say what is wrong with its inputs and return 2 (1: open cdk-nag findings).

    ``environ`` and ``outdir`` default to the process's, as the CDK CLI sets them; ``context`` adds to
    cdk.json's what the CLI would pass, for a caller synthesizing in-process (the test suite's worker).
    """
    try:
        app, plan = build_app(outdir, environ, context)
    except SettingsError as error:
        return _report(error)
    try:
        assembly = app.synth()
        stack = app.node.find_child(TOP_STACK_ID)
        assert isinstance(stack, MlopsCicdStack)
        check_templates(assembly.directory, stack.parameters)
    except SettingsError as error:
        return _report(error)
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
        print("error: cdk-nag found open findings (listed above); fix or acknowledge them", file=sys.stderr)
        return 1
    print("\n".join(plan), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
