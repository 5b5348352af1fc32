"""Draw docs/_static/architecture.png from code: the accounts, pipelines and approval flow of the module.

Run: ``.venv/bin/python docs/architecture.py`` (needs Graphviz's ``dot``: ``apt-get install graphviz``).
"""

from __future__ import annotations

from pathlib import Path

from diagrams import Cluster, Diagram, Edge
from diagrams.aws.compute import Lambda
from diagrams.aws.devtools import Codebuild, Codecommit, Codepipeline
from diagrams.aws.integration import SNS, Eventbridge, SimpleQueueServiceSqs
from diagrams.aws.management import SystemsManagerParameterStore
from diagrams.aws.ml import Sagemaker, SagemakerModel
from diagrams.aws.security import KMS
from diagrams.aws.storage import S3

OUTPUT = Path(__file__).resolve().parent / "_static" / "architecture"


def draw() -> None:
    """One group shown in full; every other group repeats it with its own accounts."""
    graph = {"fontsize": "22", "pad": "0.4", "nodesep": "0.55", "ranksep": "0.9", "splines": "spline"}
    with Diagram(
        "SageMaker Model CICD (one deployment group shown)",
        filename=str(OUTPUT),
        show=False,
        outformat="png",
        direction="LR",
        graph_attr=graph,
    ):
        with Cluster("Source repositories"):
            infra_repo = Codecommit("infra repo\n(this module)")
            model_repo = Codecommit("model-build repo\n(branch per group)")

        with Cluster("Tooling account"):
            infra = Codepipeline("infra pipeline\n(CDK Pipelines, self-mutating)")
            build = Codepipeline("model build pipeline\n(group's sourceBranch)")
            project = Codebuild("model build project\n(runs repo's buildspec)")
            trigger = Lambda("approval trigger")
            parameter = SystemsManagerParameterStore("last approved model\n(SSM record)")
            failed = SimpleQueueServiceSqs("failed approvals\n(on-failure queue, alarm)")
            undelivered = SimpleQueueServiceSqs("undelivered approvals\n(DLQ in the group's region, alarm)")
            deploy = Codepipeline("model deploy pipeline\n(QUEUED, manual approval before prod)")

        with Cluster("Build account (group's region)"):
            access = Sagemaker("SageMaker pipeline\n(train, evaluate, register)")
            registry = SagemakerModel("model package group\n(shared read-only)")
            artifacts = S3("artifacts bucket")
            key = KMS("artifacts key")
            rule = Eventbridge("Approved event rule")
            topic = SNS("approval topic (CMK)")
            build_endpoint = SagemakerModel("endpoint\n(build environment)")

        with Cluster("Deploy accounts (group's region)"):
            endpoints = [SagemakerModel("endpoint\n(preprod)"), SagemakerModel("endpoint\n(prod)")]

        infra_repo >> Edge(label="push") >> infra
        infra >> Edge(label="deploys", style="dashed") >> artifacts
        infra >> Edge(style="dashed") >> [build, deploy]
        model_repo >> Edge(label="push to branch") >> build >> project
        project >> Edge(label="assumes access role,\nstarts") >> access
        access >> artifacts
        access >> Edge(label="registers version") >> registry
        artifacts - key
        registry >> Edge(label="approve") >> rule >> topic
        topic >> Edge(label="cross-account SNS") >> trigger
        topic >> Edge(label="cannot deliver", style="dotted") >> undelivered
        trigger >> Edge(label="records") >> parameter
        trigger >> Edge(label="starts with\nAPPROVED_MODEL_INFO") >> deploy
        trigger >> Edge(label="fails after retries", style="dotted") >> failed
        deploy >> Edge(label="CDK bootstrap roles") >> build_endpoint
        deploy >> endpoints


if __name__ == "__main__":
    draw()
    print(f"wrote {OUTPUT}.png")
