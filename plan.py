"""The short plan printed after a synth: what goes where, and which deployments wait for a human."""

from __future__ import annotations

from settings import ApplicationSettings, ApprovedModel, RepositorySettings


def _repository(repository: RepositorySettings, branch: str) -> str:
    where = "CodeCommit" if repository.host == "codecommit" else repository.host
    return f"{repository.name}@{branch} ({where})"


def deployment_plan(settings: ApplicationSettings, *, infra_pipeline_name: str) -> list[str]:
    """One line per pipeline and deploy target, grouped by deployment group."""
    tooling, params, seedfarmer = settings.tooling, settings.parameters, settings.seedfarmer
    infra = params.infra_repo
    lines = [
        f"Plan: {settings.stack_name} in tooling account {tooling.account} ({tooling.region})",
        # Every name below derives from these; seedfarmer names the module <group>-<module>.
        f"  as seedfarmer module {seedfarmer.module_name} of deployment {seedfarmer.deployment_name}, "
        f"project {seedfarmer.project_name}",
        f"  infra pipeline {infra_pipeline_name} <- {_repository(infra, infra.branch)}",
    ]
    for plan in settings.groups:
        group, names = plan.group, plan.names
        build = group.build_environment
        lines += [
            f"  group {group.name}: trains in {build.account} ({build.region}, {build.type.value})",
            f"    model build pipeline {names.model_build_pipeline} <- "
            f"{_repository(params.model_build_repo, group.source_branch)}",
            f"    deploy pipeline {names.model_deploy_pipeline}, on approval in {names.model_package_group}:",
        ]
        for number, wave in enumerate(plan.waves, start=1):
            together = " side by side" if len(wave.targets) > 1 else ""
            approval = ", after a manual approval" if wave.needs_approval else ""
            lines.append(f"      {number}. {wave.name or wave.targets[0].name}{together}{approval}:")
            lines += [
                f"         -> {target.name}: {target.account} ({build.region}, {target.type.value})"
                for target in wave.targets
            ]
        if plan.approved_model is not None:
            lines += _image_note(plan.approved_model, build.account)
    return lines


def _image_note(model: ApprovedModel, build_account: str) -> list[str]:
    """Whether endpoints may pull an image in another account is that registry's policy, unseen at synth."""
    if model.image_account == build_account:
        return []
    return [
        f"    note: the approved image is in account {model.image_account} ({model.image_repository}); "
        "endpoints can pull it only if that registry's policy lets their execution roles "
        "(AWS's own SageMaker image registries do)"
    ]
