"""From an approval to the last endpoint serving: each deploy pipeline's critical path, on paper.

Run after a synth: ``.venv/bin/python -m benchmarks.critical_path [CDK_OUT]`` (default ``./cdk.out``).
It reads every group's synthesized deploy pipeline and prints, per group, its stages with the time each
kind of action typically takes, then the total as synthesized (warm synth step, environments of a type
side by side) and as the module ran before (cold synth step, one environment after another). A manual
approval is a human's wait, counted as zero and named.

The durations are stated, not measured in AWS: nothing here has an account. Each says where it comes
from. What a real pipeline takes depends most on its instance types and model sizes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Duration:
    seconds: float
    source: str


DURATIONS: Mapping[str, Duration] = {
    "start": Duration(
        15,
        "assumed: CodePipeline starts the execution and its source action reads the infra repository "
        "(no documented figure)",
    ),
    "provision": Duration(
        30,
        "assumed: an on-demand CodeBuild machine per build (CodeBuild User Guide, 'Run builds on "
        "reserved capacity fleets': on-demand machines are created per build); no documented figure",
    ),
    "install-cold": Duration(
        283,
        "measured here: pip install -r requirements.txt with an empty cache, then npm ci, in a fresh "
        "venv (docs/benchmark.md, 'Synth step install')",
    ),
    "install-warm": Duration(
        76,
        "measured here: the same with pip's and npm's caches filled, as the S3 cache restores them",
    ),
    "synth": Duration(5.2, "measured here: the README example's synth (docs/benchmark.md)"),
    "change-set": Duration(
        30, "assumed: CloudFormation creates a change set for an endpoint stack (no documented figure)"
    ),
    "endpoint-update": Duration(
        480,
        "assumed: SageMaker provisions a new fleet for the new endpoint config, shifts traffic, then "
        "removes the old one (UpdateEndpoint API reference); minutes, by instance type and model size",
    ),
    "smoke-test": Duration(
        45,
        "assumed: a CodeBuild machine as for provision, pip installing boto3, then a few requests to the "
        "endpoint (no documented figure)",
    ),
    "approval": Duration(0, "a human's wait: not counted"),
}


@dataclass(frozen=True)
class Step:
    """One stage of a deploy pipeline after its synth: what it does and how long, on paper."""

    stage: str
    actions: tuple[str, ...]
    seconds: float


def _kind(action: Mapping[str, Any]) -> str:
    provider = action["ActionTypeId"]["Provider"]
    if provider == "Manual":
        return "approval"
    if provider == "CloudFormation":
        mode = action["Configuration"]["ActionMode"]
        return "change-set" if mode == "CHANGE_SET_REPLACE" else "endpoint-update"
    if provider == "CodeBuild":
        return "smoke-test"
    raise ValueError(f"a deploy pipeline action of an unexpected kind: {provider}")


def deploy_steps(pipeline: Mapping[str, Any]) -> list[Step]:
    """The stages after Source and Build; actions of one run order run side by side."""
    steps = []
    for stage in pipeline["Stages"][2:]:
        orders: dict[int, list[str]] = {}
        for action in stage["Actions"]:
            orders.setdefault(action.get("RunOrder", 1), []).append(_kind(action))
        seconds = sum(max(DURATIONS[kind].seconds for kind in kinds) for kinds in orders.values())
        summary = tuple(
            f"{count} x {kind}" if count > 1 else kind
            for _, kinds in sorted(orders.items())
            for kind, count in Counter(kinds).items()
        )
        steps.append(Step(stage["Name"], summary, seconds))
    return steps


def synth_seconds(*, warm: bool) -> float:
    install = DURATIONS["install-warm" if warm else "install-cold"]
    return (
        DURATIONS["start"].seconds
        + DURATIONS["provision"].seconds
        + install.seconds
        + DURATIONS["synth"].seconds
    )


def sequential_seconds(pipeline: Mapping[str, Any]) -> float:
    """Every endpoint stack in a stage of its own, one after another: the shape before waves (and before
    the smoke tests, which it did not have)."""
    updates = sum(
        DURATIONS[kind].seconds
        for stage in pipeline["Stages"][2:]
        for action in stage["Actions"]
        if (kind := _kind(action)) != "smoke-test"
    )
    return synth_seconds(warm=False) + updates


def deploy_pipelines(outdir: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each group's deploy pipeline in a cloud assembly, by group name (its stage's construct id)."""
    for template_file in sorted(outdir.glob("assembly-*/*ModelDeploy*.template.json")):
        template = json.loads(template_file.read_text())
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::CodePipeline::Pipeline":
                group = template_file.parent.name.removeprefix("assembly-").split("-", 1)[1]
                yield group, resource["Properties"]


def report(outdir: Path) -> list[str]:
    """A Markdown table per group, and the totals before and after."""
    lines = []
    for group, pipeline in deploy_pipelines(outdir):
        steps = deploy_steps(pipeline)
        after = synth_seconds(warm=True) + sum(step.seconds for step in steps)
        before = sequential_seconds(pipeline)
        synth = synth_seconds(warm=True) / 60
        lines += [
            f"### {group}",
            "",
            "| stage | actions | minutes |",
            "| --- | --- | ---: |",
            f"| start, Source, Synth (warm) | start, provision, install-warm, synth | {synth:.1f} |",
            *(f"| {s.stage} | {', '.join(s.actions)} | {s.seconds / 60:.1f} |" for s in steps),
            f"| **approval to served** | | **{after / 60:.1f}** (before: {before / 60:.1f}) |",
            "",
        ]
    lines += ["| duration | seconds | where it comes from |", "| --- | ---: | --- |"]
    lines += [f"| {name} | {d.seconds:g} | {d.source} |" for name, d in DURATIONS.items()]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("cdk_out", nargs="?", default="cdk.out", type=Path)
    args = parser.parse_args(argv)
    if not (args.cdk_out / "manifest.json").exists():
        print(f"error: {args.cdk_out} is not a cloud assembly: run a synth first", file=sys.stderr)
        return 2
    print("\n".join(report(args.cdk_out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
