"""Synthesizes one configuration after another in one process, as the CDK CLI would run ``app.py`` for each.

Started by the suite's synth pool (tests/conftest.py), one per slot: a CLI synth pays ~4 s of CPU to start
the CLI, Python, aws-cdk-lib and the jsii kernel before any construct is made; here only the first does.
Each request is a JSON line on standard input: ``{"environment": {...}, "context": {...}, "outdir": ...}``,
where ``context`` is what the CLI would pass in ``CDK_CONTEXT_JSON`` beside cdk.json's (which the app reads
itself) and its own defaults; each answer a JSON line on standard output:
``{"returncode": ..., "stderr": ...}``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path

# What the pinned CLI adds to every synth's context (its defaults), so that templates are byte-identical to
# the CLI's: resource paths and asset metadata in the templates.
CLI_CONTEXT = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
}


def serve(synthesize: Callable[[Mapping[str, str], str, Mapping[str, object]], int]) -> None:
    """Answer each request with what ``synthesize`` (app.main) returned and printed.

    The context goes to the app, not into ``CDK_CONTEXT_JSON``: the jsii kernel, started with the first
    synth, keeps the environment it started with (and the app reads that variable there).
    """
    answers = sys.stdout
    sys.stdout = sys.stderr  # nothing but answers on the pipe
    for line in sys.stdin:
        request = json.loads(line)
        os.environ.clear()
        os.environ.update(request["environment"])
        printed = io.StringIO()
        try:
            with contextlib.redirect_stderr(printed):
                context = {**CLI_CONTEXT, **request["context"]}
                returncode = synthesize(request["environment"], request["outdir"], context)
        except Exception:  # the pool reports it as the synth's failure
            returncode = -1
            printed.write(traceback.format_exc())
        answers.write(json.dumps({"returncode": returncode, "stderr": printed.getvalue()}) + "\n")
        answers.flush()


if __name__ == "__main__":
    ROOT = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    from app import main

    serve(main)
