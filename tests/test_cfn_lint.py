"""cfn-lint over every synthesized template: no error, no warning but W3005 (CDK's explicit DependsOn)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Synth

ALLOWED = {"W3005"}


SYNTHS = ["example_synth", "long_names_synth", "approved_synth", "github_synth"]


@pytest.mark.parametrize("synth_name", SYNTHS)
def test_cfn_lint_is_clean(synth_name: str, request: pytest.FixtureRequest) -> None:
    synth: Synth = request.getfixturevalue(synth_name)
    templates = sorted(str(p) for p in synth.outdir.rglob("*.template.json"))
    assert len(templates) == len(synth.stacks)
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--format",
            "parseable",
            "--ignore-checks",
            *ALLOWED,
            "--",
            *templates,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout == "", result.stdout
    assert result.returncode == 0, result.stderr
