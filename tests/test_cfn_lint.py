"""cfn-lint over every synthesized template: no error, no warning but W3005 (CDK's explicit DependsOn)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Synth

ALLOWED = {"W3005"}


def test_cfn_lint_is_clean(
    example_synth: Synth, long_names_synth: Synth, approved_synth: Synth, github_synth: Synth
) -> None:
    """Every template of the four synths, each distinct text linted once, split over one cfn-lint per core.

    The synths share most templates byte for byte (an approval changes only endpoint stacks), and
    cfn-lint's start-up and per-template work were a tenth of the suite's CPU.
    """
    synths = [example_synth, long_names_synth, approved_synth, github_synth]
    distinct: dict[str, str] = {}
    for synth in synths:
        paths = sorted(synth.outdir.rglob("*.template.json"))
        assert len(paths) == len(synth.stacks), synth.outdir
        for path in paths:
            distinct.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), str(path))
    assert len(distinct) > len(synths)
    templates = sorted(distinct.values())
    parts = os.cpu_count() or 1
    linters = [
        subprocess.Popen(
            [
                str(Path(sys.executable).with_name("cfn-lint")),
                "--format",
                "parseable",
                "--ignore-checks",
                *ALLOWED,
                "--",
                *templates[part::parts],
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for part in range(min(parts, len(templates)))
    ]
    for linter in linters:
        stdout, stderr = linter.communicate()
        assert stdout == "", stdout
        assert linter.returncode == 0, stderr
