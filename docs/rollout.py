"""Draw docs/_static/rollout.png from code: one approved version's way through the environments, and back.

Drawn for the README example's prod group, whose defaults show both kinds of update: its preprod
environments all at once with no bake (so no time for an alarm to act), its prod environment a canary
that its rollback alarms undo.

Run: ``.venv/bin/python docs/rollout.py`` (needs Graphviz's ``dot``: ``apt-get install graphviz``).
"""

from __future__ import annotations

from pathlib import Path

from diagrams import Cluster, Diagram, Edge, Node
from diagrams.aws.compute import Lambda
from diagrams.aws.devtools import Codebuild, Codepipeline
from diagrams.aws.general import User
from diagrams.aws.management import Cloudformation, CloudwatchAlarm
from diagrams.aws.ml import SagemakerModel

OUTPUT = Path(__file__).resolve().parent / "_static" / "rollout"
ROLLBACK = {"color": "firebrick", "fontcolor": "firebrick", "style": "dashed"}


def smoke_test() -> Node:
    """The deploy pipeline's check after each stage: the version answers, on the config the stack set."""
    return Codebuild("smoke test\n(invoke, then compare\nEndpointConfigName)")


def all_at_once(title: str) -> tuple[Node, Node]:
    """Environments without a bake: the smoke test is what stops a bad version there."""
    with Cluster(title):
        stack = Cloudformation("endpoint stack\n(new endpoint config)")
        new = SagemakerModel("new fleet, all traffic at once\n(no bake: old fleet stopped)")
        smoke = smoke_test()
        stack >> Edge(label="UpdateEndpoint") >> new >> smoke
    return stack, smoke


def canary(title: str) -> tuple[Node, Node]:
    """An environment with a canary and a bake, watched by its rollback alarms (prod's default)."""
    with Cluster(title):
        stack = Cloudformation("endpoint stack\n(new endpoint config)")
        with Cluster("blue/green update (SageMaker deployment guardrails)"):
            old = SagemakerModel("old fleet\n(keeps serving)")
            new = SagemakerModel("canary: 1 instance of the\nnew fleet takes traffic\n(wait 10 min)")
            baked = SagemakerModel("all traffic on the new fleet\n(bake 10 min)")
            alarms = CloudwatchAlarm("rollback alarms\n(5XX share, model latency;\nnew config only)")
        smoke = smoke_test()
        stack >> Edge(label="UpdateEndpoint") >> new
        new >> Edge(label="no alarm") >> baked
        [new, baked] >> Edge(style="dotted", arrowhead="none") >> alarms
        alarms >> Edge(label="alarm: roll back,\nInService on old config", **ROLLBACK) >> old
        baked >> Edge(label="old fleet stopped") >> smoke
        old >> Edge(label="config differs:\nstage fails, pipeline stops", **ROLLBACK) >> smoke
    return stack, smoke


def draw() -> None:
    """Preprod side by side, then prod behind an approval; each stage's smoke test before the next."""
    graph = {"fontsize": "22", "pad": "0.4", "nodesep": "0.5", "ranksep": "0.8", "splines": "spline"}
    with Diagram(
        "Rollout of one approved version (the README example's prod group)",
        filename=str(OUTPUT),
        show=False,
        outformat="png",
        direction="LR",
        graph_attr=graph,
    ):
        registry = SagemakerModel("model registry\n(version approved)")
        trigger = Lambda("approval trigger\n(records, starts)")
        pipeline = Codepipeline("deploy pipeline\n(synth with\nAPPROVED_MODEL_INFO)")
        preprod_start, preprod_smoke = all_at_once("preprod environments (side by side)")
        approval = User("manual approval\nbefore prod")
        prod_start, _ = canary("prod environment (2 instances)")

        registry >> Edge(label="Approved event") >> trigger >> pipeline >> preprod_start
        preprod_smoke >> Edge(label="passed") >> approval
        # Not a ranking edge: prod starts a second row under preprod, as a line of text wraps.
        approval >> Edge(label="approved", constraint="false") >> prod_start


if __name__ == "__main__":
    draw()
    print(f"wrote {OUTPUT}.png")
