"""cfn-lint over every synthesized template: no error, no warning but W3005 (CDK's explicit DependsOn)."""

from __future__ import annotations

from tests.conftest import Synth


def test_cfn_lint_is_clean(
    example_synth: Synth, long_names_synth: Synth, approved_synth: Synth, github_synth: Synth
) -> None:
    """Every template of three synths and the GitHub synth's pipeline stacks (a repository host changes
    only those), each distinct text linted once, in the pool's slot right after the synth that made it
    first (most are shared byte for byte: an approval changes only endpoint stacks)."""
    synths = [example_synth, long_names_synth, approved_synth, github_synth]
    for synth in synths:
        assert len(list(synth.outdir.rglob("*.template.json"))) == len(synth.stacks), synth.outdir
        assert synth.lint is not None, synth.outdir
        assert synth.lint.findings == "", synth.lint.findings
        assert synth.lint.returncode == 0
    assert sum(synth.lint.templates for synth in synths if synth.lint) > len(synths)
    # The top stack (the infra pipeline) and each group's model build pipeline, both sourced from GitHub.
    assert github_synth.lint is not None
    model_builds = [name for name in github_synth.stacks if name.endswith("/ModelBuild")]
    assert len(model_builds) == 2
    assert github_synth.lint.templates == 1 + len(model_builds)
