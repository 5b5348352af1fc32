"""Seedfarmer entry point: settings -> MlopsCicdStack -> cdk-nag -> synth; nothing else."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from settings import ApplicationSettings, SettingsError, load_settings
from stack import MlopsCicdStack

CDK_JSON = Path(__file__).with_name("cdk.json")


def build_app(settings: ApplicationSettings, outdir: str | None = None) -> cdk.App:
    """The module's app, with cdk.json's feature flags even when run without the CDK CLI."""
    context = json.loads(CDK_JSON.read_text())["context"]
    app = cdk.App(context=context, outdir=outdir)
    MlopsCicdStack(app, "MlopsCicd", settings=settings)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def main() -> int:
    """Synthesize the module, or say what is wrong with its inputs and exit non-zero."""
    try:
        settings = load_settings()
    except SettingsError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    build_app(settings).synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
