"""The ready manifests in examples/ synthesize, cdk-nag clean, to what they promise."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MANIFESTS, ROOT, SynthPool


def test_three_accounts_put_prod_behind_an_approval(synth_pool: SynthPool) -> None:
    synth = synth_pool.get("manifest-three-accounts")
    accounts = {stack.account for stack in synth.stacks.values()}
    assert accounts == {"111111111111", "222222222222", "333333333333", "444444444444"}
    template = synth.stack("release/ModelDeploy").template
    (pipeline,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    manual = [
        stage["Name"]
        for stage in pipeline["Properties"]["Stages"]
        if any(a["ActionTypeId"]["Provider"] == "Manual" for a in stage["Actions"])
    ]
    assert manual == ["release-prod"]


# The one-account trial is synthesized by the README's own command (test_docs runs it and reads it).
BY_THE_README = {
    "one-account-trial.yaml": "scripts/cdk.sh synth -c manifest=examples/manifests/one-account-trial.yaml"
}


@pytest.mark.parametrize("path", sorted(MANIFESTS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_manifest_is_synthesized_by_the_suite(path: Path, synth_pool: SynthPool) -> None:
    if path.name in BY_THE_README:
        assert BY_THE_README[path.name] in (ROOT / "README.md").read_text()
        return
    name = "github" if path.name == "github-hosted.yaml" else f"manifest-{path.stem}"
    assert synth_pool.get(name).stacks


@pytest.mark.parametrize("name", ["architecture", "rollout"])
def test_the_pictures_are_real_pngs_drawn_by_their_script_and_shown(name: str) -> None:
    docs = MANIFESTS.parent.parent / "docs"
    picture = docs / "_static" / f"{name}.png"
    header = picture.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert width > 1000
    assert height > 1000
    assert (
        f'OUTPUT = Path(__file__).resolve().parent / "_static" / "{name}"'
        in (docs / f"{name}.py").read_text()
    )
    readme = (MANIFESTS.parent.parent / "README.md").read_text()
    assert f"](docs/_static/{name}.png)" in readme
    assert f"`docs/{name}.py`" in readme
