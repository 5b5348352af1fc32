"""cfn-lint over every synthesized template: no error, no warning but W3005 (CDK's explicit DependsOn)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Synth

ALLOWED = {"W3005"}


SYNTHS = ["example_synth", "long_names_synth", "approved_synth", "github_synth"]


def test_cfn_lint_is_clean(request: pytest.FixtureRequest) -> None:
    """Every template of the four synths, each distinct text linted once in one cfn-lint run.

    The synths share most templates byte for byte (an approval changes only endpoint stacks), and
    cfn-lint's start-up and per-template work were a tenth of the suite's CPU.
    """
    distinct: dict[str, str] = {}
    for name in SYNTHS:
        synth: Synth = request.getfixturevalue(name)
        paths = sorted(synth.outdir.rglob("*.template.json"))
        assert len(paths) == len(synth.stacks), name
        for path in paths:
            distinct.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), str(path))
    assert len(distinct) > len(SYNTHS)
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--format",
            "parseable",
            "--ignore-checks",
            *ALLOWED,
            "--",
            *sorted(distinct.values()),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout == "", result.stdout
    assert result.returncode == 0, result.stderr
