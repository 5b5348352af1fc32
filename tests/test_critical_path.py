"""The approval-to-served critical path read from the synthesized deploy pipelines."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.critical_path import DURATIONS, deploy_pipelines, deploy_steps, main, sequential_seconds
from tests.conftest import Synth

BEFORE = DURATIONS["change-set"].seconds + DURATIONS["endpoint-update"].seconds
UPDATE = BEFORE + DURATIONS["smoke-test"].seconds


def _pipelines(synth: Synth) -> dict[str, dict[str, object]]:
    return dict(deploy_pipelines(synth.outdir))


def test_side_by_side_environments_cost_one_update_per_wave(example_synth: Synth) -> None:
    pipelines = _pipelines(example_synth)
    assert set(pipelines) == {"experimenation-deployment-group", "prod-deployment-group"}
    dev = deploy_steps(pipelines["experimenation-deployment-group"])
    assert [(s.stage, s.actions, s.seconds) for s in dev] == [
        ("dev", ("3 x change-set", "3 x endpoint-update", "3 x smoke-test"), UPDATE)
    ]
    prod = deploy_steps(pipelines["prod-deployment-group"])
    assert [(s.actions, s.seconds) for s in prod] == [
        (("2 x change-set", "2 x endpoint-update", "2 x smoke-test"), UPDATE),
        (("approval", "change-set", "endpoint-update", "smoke-test"), UPDATE),
    ]


def test_before_was_one_update_after_another_from_a_cold_synth(example_synth: Synth) -> None:
    dev = _pipelines(example_synth)["experimenation-deployment-group"]
    cold = sum(DURATIONS[k].seconds for k in ("start", "provision", "install-cold", "synth"))
    assert sequential_seconds(dev) == pytest.approx(cold + 3 * BEFORE)  # no smoke test then


def test_the_report_names_every_groups_total_and_every_durations_source(
    example_synth: Synth, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(example_synth.outdir)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("| **approval to served** |") == 2
    assert all(f"| {name} |" in printed for name in DURATIONS)


def test_no_assembly_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path} is not a cloud assembly: run a synth first\n"
