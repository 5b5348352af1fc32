"""Synth wall time and peak memory for 1, 10, 25 and 50 deployment groups.

Run: ``.venv/bin/python benchmarks/synth_benchmark.py`` (add ``--groups 1 50`` to pick sizes,
``--runs 3`` to repeat). Each run is ``python app.py`` in a fresh process, exactly as ``cdk synth`` runs
it (cdk-nag included), with seedfarmer's variables for N groups; it prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def groups(count: int) -> list[dict[str, object]]:
    """``count`` groups, each with its own build account and two deploy accounts (one prod)."""
    return [
        {
            "name": f"group-{index:03d}",
            "sourceBranch": f"branch-{index:03d}",
            "buildEnvironment": {
                "name": "train",
                "account": f"{200000000000 + index * 10:012d}",
                "region": "us-east-1",
                "type": "preprod" if index % 2 else "dev",
            },
            "deployEnvironments": [
                {"name": "staging", "account": f"{200000000001 + index * 10:012d}", "type": "preprod"},
                {"name": "prod", "account": f"{200000000002 + index * 10:012d}", "type": "prod"},
            ],
        }
        for index in range(count)
    ]


def environment(count: int, outdir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEEDFARMER_", "CDK_", "APPROVED_"))}
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "SEEDFARMER_PROJECT_NAME": "mlops",
            "SEEDFARMER_DEPLOYMENT_NAME": "bench",
            "SEEDFARMER_MODULE_NAME": "models-sagemaker-model-cicd",
            "CDK_DEFAULT_ACCOUNT": "111111111111",
            "CDK_DEFAULT_REGION": "us-east-1",
            "CDK_OUTDIR": outdir,
            "SEEDFARMER_PARAMETER_INFRA_REPO": json.dumps({"host": "codecommit", "name": "infra"}),
            "SEEDFARMER_PARAMETER_MODEL_BUILD_REPO": json.dumps({"host": "codecommit", "name": "models"}),
            "SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS": json.dumps(groups(count)),
        }
    )
    return env


def tree_rss_kib(root: int) -> int:
    """Resident memory of ``root`` and all its descendants (python and the jsii node process), from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry.name)] = int(fields.get("PPid", "0").strip())
        rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0) for pid in tree)


def measure(count: int) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB, python plus its jsii node process) of one synth."""
    with tempfile.TemporaryDirectory() as outdir:
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=ROOT,
            env=environment(count, outdir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss_kib(process.pid))
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        stderr = process.stderr.read() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{count} groups: synth failed\n{stderr[-3000:]}")
    return elapsed, peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, nargs="+", default=[1, 10, 25, 50])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    print(f"Machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print()
    print("| groups | synth wall time (s) | peak memory (MiB) | seconds per group |")
    print("| ---: | ---: | ---: | ---: |")
    for count in args.groups:
        samples = [measure(count) for _ in range(args.runs)]
        wall = statistics.median(s[0] for s in samples)
        peak = max(s[1] for s in samples)
        print(f"| {count} | {wall:.1f} | {peak:.0f} | {wall / count:.2f} |", flush=True)


if __name__ == "__main__":
    main()
