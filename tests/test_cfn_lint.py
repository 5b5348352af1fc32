"""cfn-lint over every synthesized template: no error, no warning but W3005 (CDK's explicit DependsOn)."""

from __future__ import annotations

from tests.conftest import Synth


def test_cfn_lint_is_clean(
    example_synth: Synth, long_names_synth: Synth, approved_synth: Synth, github_synth: Synth
) -> None:
    """Every template of the four synths, each distinct text linted once, in the pool's slot right after
    the synth that made it first (most are shared byte for byte: an approval changes only endpoint stacks).
    """
    synths = [example_synth, long_names_synth, approved_synth, github_synth]
    for synth in synths:
        assert len(list(synth.outdir.rglob("*.template.json"))) == len(synth.stacks), synth.outdir
        assert synth.lint is not None, synth.outdir
        assert synth.lint.findings == "", synth.lint.findings
        assert synth.lint.returncode == 0
    assert sum(synth.lint.templates for synth in synths if synth.lint) > len(synths)
