"""cdk-nag acknowledgments (blocks/nag.py), as the README example's synth reports them: none open, each with
its reason, each on a construct below a stack, and the stage stacks checked too."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Synth


@pytest.fixture(scope="module")
def nag_report(example_synth: Synth) -> dict[str, Any]:
    """cdk-nag's part of the policy validation report the CLI synth wrote."""
    report = json.loads((example_synth.outdir / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    return nag  # type: ignore[no-any-return]


def test_no_finding_is_open(nag_report: dict[str, Any]) -> None:
    assert (nag_report["conclusion"], nag_report["violations"]) == ("success", [])


def test_every_acknowledgment_is_below_a_stack_with_a_reason(
    example_synth: Synth, nag_report: dict[str, Any]
) -> None:
    """On the role, bucket or pipeline it is about: a stack-wide one would hide the next finding too."""
    acknowledged = nag_report["suppressedViolations"]
    assert acknowledged
    for finding in acknowledged:
        where, rule = finding["acknowledgedAt"], finding["ruleName"]
        assert finding["reason"].strip(), rule
        assert where not in example_synth.stacks, f"{rule} acknowledged for the whole stack {where}"
        for construct in finding["violatingConstructs"]:
            assert construct["constructPath"].startswith(f"{where}/"), (rule, where, construct)


def test_cdk_nag_reaches_every_stage_stack(example_synth: Synth, nag_report: dict[str, Any]) -> None:
    """Aspects stop at Stage boundaries; CDK's policy validation does not (docs/design.md)."""
    checked = {
        max((stack for stack in example_synth.stacks if path.startswith(f"{stack}/")), key=len)
        for finding in nag_report["suppressedViolations"]
        for path in (construct["constructPath"] for construct in finding["violatingConstructs"])
    }
    kinds = {stack.rsplit("/", 1)[-1] for stack in checked}
    assert {"MlopsCicd", "BuildSupport", "ModelBuild", "ModelDeploy"} <= kinds, sorted(checked)
