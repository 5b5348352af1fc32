"""Per deployment group, everything its stages need, resolved once: names, targets, waves, approved model.

Each stage takes its slice of a :class:`GroupPlan`; nothing below settings decides an input rule again.
"""

from __future__ import annotations

from dataclasses import dataclass

from names import STACK_NAME, GroupNames, bounded
from quotas import STAGE_ACTIONS
from settings.approved_model import ApprovedModel
from settings.models import DeployEnvironmentSettings, DeploymentGroupSettings, DeployOrder, EnvironmentType

TYPE_ORDER = (EnvironmentType.DEV, EnvironmentType.PREPROD, EnvironmentType.PROD)
ACTIONS_PER_ENVIRONMENT = 3
"""CDK Pipelines deploys a stack as a change set, then executes it; the smoke test follows."""


@dataclass(frozen=True)
class DeployWave:
    """Environments the deploy pipeline updates in one stage, after one approval if any needs it."""

    name: str | None
    """The pipeline stage's name; None for one environment alone, whose stage is named after it."""
    type: EnvironmentType
    needs_approval: bool
    targets: tuple[DeployEnvironmentSettings, ...]


def deploy_targets(group: DeploymentGroupSettings) -> tuple[DeployEnvironmentSettings, ...]:
    """Where the group's model is served: the build environment first, unless a deploy env has its account."""
    build = group.build_environment
    targets = group.deploy_environments
    if build.account not in {target.account for target in targets}:
        return (build, *targets)
    return targets


def deploy_waves(group: DeploymentGroupSettings) -> tuple[DeployWave, ...]:
    """The deploy pipeline's stages after its synth, in order.

    By type (the default): every environment of a type side by side, dev -> preprod -> prod, those that
    need an approval in a stage of their own after the others of their type, behind one approval; a
    SageMaker endpoint update takes minutes, so this is where an approval's wait goes. Sequential: one
    stage per environment, the build environment first, each approval before its own environment.
    """
    targets = deploy_targets(group)
    if group.deploy_order is DeployOrder.SEQUENTIAL:
        return tuple(DeployWave(None, t.type, t.needs_approval, (t,)) for t in targets)
    waves = []
    for kind in TYPE_ORDER:
        split = {
            approval: members
            for approval in (False, True)
            if (members := tuple(t for t in targets if t.type is kind and t.needs_approval is approval))
        }
        for approval, members in split.items():
            # Named after the type; "-approved" only tells two stages of one type apart.
            name = f"{kind}-approved" if approval and len(split) == 2 else str(kind)
            # Each environment is three actions (change set, execute, smoke test): a stage holds so many.
            size = (STAGE_ACTIONS - int(approval)) // ACTIONS_PER_ENVIRONMENT
            chunks = [members[start : start + size] for start in range(0, len(members), size)]
            for number, chunk in enumerate(chunks, start=1):
                waves.append(DeployWave(f"{name}-{number}" if number > 1 else name, kind, approval, chunk))
    return tuple(waves)


@dataclass(frozen=True)
class GroupPlan:
    """One deployment group, resolved: all its stages need, nothing they would work out again.

    The build-support, model build, model deploy and endpoint stages each take their slice of it.
    """

    index: int
    """Its place in ``deployment-groups``, as problems name it."""
    group: DeploymentGroupSettings
    names: GroupNames
    project_name: str
    """Seedfarmer's project: the default endpoint network parameters are named after it."""
    approved_model: ApprovedModel | None
    """The version its deploy pipeline deploys in this synth; None before an approval, and in every other
    group's synth (a deploy pipeline synthesizes the whole module for its own group's model)."""

    @property
    def name(self) -> str:
        return self.group.name

    @property
    def targets(self) -> tuple[DeployEnvironmentSettings, ...]:
        """Every environment serving the group's model, in the order :func:`deploy_targets` says."""
        return deploy_targets(self.group)

    @property
    def waves(self) -> tuple[DeployWave, ...]:
        return deploy_waves(self.group)

    @property
    def keeps_build_data(self) -> bool:
        """Whether the build account's artifacts, registry and keys outlive a destroy."""
        return self.group.build_environment.type.keeps_data

    def stack_name(self, kind: str) -> str:
        """One of its stacks, within CloudFormation's limit, leaving room for CDK's support-stack suffix."""
        return bounded(f"{self.names.prefix}-{kind}", STACK_NAME)


def group_names(stack_name: str, group: DeploymentGroupSettings) -> GroupNames:
    """The names of one group's resources, the same in every stack and account."""
    return GroupNames(
        prefix=f"{stack_name}-{group.name}",
        build_account=group.build_environment.account,
        build_region=group.build_environment.region,
    )
