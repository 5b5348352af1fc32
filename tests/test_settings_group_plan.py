"""A group's deploy waves (settings/group_plan.py): by type and approval, within CodePipeline's limit."""

from __future__ import annotations

from collections.abc import Sequence

from settings import DeploymentGroupSettings, DeployOrder, deploy_waves


def _group(
    deploy_order: str, environments: Sequence[tuple[str, str, bool | None]]
) -> DeploymentGroupSettings:
    """A group whose build environment is dev and whose deploy environments are (name, type, approval)."""
    return DeploymentGroupSettings.model_validate(
        {
            "name": "g",
            "sourceBranch": "main",
            "deployOrder": deploy_order,
            "buildEnvironment": {
                "name": "build",
                "account": "100000000000",
                "region": "us-east-1",
                "type": "dev",
            },
            "deployEnvironments": [
                {"name": name, "account": f"{200000000000 + n}", "type": kind}
                | ({} if approval is None else {"requireApproval": approval})
                for n, (name, kind, approval) in enumerate(environments)
            ],
        }
    )


def _shape(group: DeploymentGroupSettings) -> list[tuple[str | None, bool, list[str]]]:
    return [(w.name, w.needs_approval, [t.name for t in w.targets]) for w in deploy_waves(group)]


def test_waves_go_by_type_and_approval_whatever_order_the_manifest_lists() -> None:
    group = _group(
        "byType",
        [
            ("p", "prod", None),
            ("q", "preprod", True),
            ("r", "preprod", None),
            ("d", "dev", None),
            ("u", "prod", False),
        ],
    )
    assert _shape(group) == [
        ("dev", False, ["build", "d"]),
        ("preprod", False, ["r"]),
        ("preprod-approved", True, ["q"]),
        ("prod", False, ["u"]),
        ("prod-approved", True, ["p"]),
    ]
    assert _shape(group.model_copy(update={"deploy_order": DeployOrder.SEQUENTIAL})) == [
        (None, False, ["build"]),
        (None, True, ["p"]),
        (None, True, ["q"]),
        (None, False, ["r"]),
        (None, False, ["d"]),
        (None, False, ["u"]),
    ]


def test_a_wave_too_wide_for_one_stage_continues_in_the_next() -> None:
    """CodePipeline allows 50 actions per stage; each environment takes three, an approval one."""
    group = _group(
        "byType", [(f"d{n}", "dev", None) for n in range(30)] + [(f"p{n}", "prod", None) for n in range(30)]
    )
    assert [(name, approval, len(targets)) for name, approval, targets in _shape(group)] == [
        ("dev", False, 16),
        ("dev-2", False, 15),
        ("prod", True, 16),
        ("prod-2", True, 14),
    ]
