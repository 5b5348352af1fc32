"""Every command README.md and docs/ give runs as written, from a fresh clone after the Quick start.

Each fenced ``bash`` command (a ``&&`` chain counts part by part) is one of:

- **aws**: it needs an AWS account (or a value only a deployment has, written ``<like this>``): named,
  not run, unless a stand-in below replaces it;
- **setup**: it sets up a machine (the Quick start, which ``.ci/run`` runs in a fresh clone, and the
  installs whose pins are checked here against the files the Quick start installs from);
- **run**: it runs here, in the document's order, in one shell per document: the README's in this clone,
  the guide's in a scratch folder standing in for the reader's, with the files the guide gives written
  where it says when it says, and ``/path/to/sagemaker-model-cicd`` this clone.

``./scripts/test.sh tests/test_docs.py -rP`` lists every command and what the suite did with it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BACKGROUND_JOBS, ROOT, Synth, SynthPool, clean_environment, read_assembly

README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "zero-to-served-model.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
CLONE = "/path/to/sagemaker-model-cicd"
EXAMPLE_VENV = ROOT / "examples" / "model-build-repo" / ".venv"
# What .ci/run proves in a fresh clone: a documented command the Quick start runs as written is not rerun.
QUICK_START = set((ROOT / "scripts" / "quickstart.sh").read_text().splitlines())

NEEDS_AWS = re.compile(
    r"^(aws|seedfarmer (apply|destroy|bootstrap)|git push|\$cdk bootstrap|(scripts|\./scripts)/cdk\.sh "
    r"(bootstrap|deploy|destroy))\b|\$\(aws\s|<[^>\s][^>]*>|codecommit::|for profile in"
)
SETUP = re.compile(
    r"^(\./scripts/quickstart\.sh|\./scripts/test\.sh|pip install|\S*pip install|python3 -m venv)"
)
# Stand-ins: what replaces a command that needs an AWS account or a machine's setup, and why.
STAND_INS: list[tuple[re.Pattern[str], str, str]] = [
    (
        re.compile(r"^git clone codecommit::\S+@(\S+)$"),
        r"git init -q \1",
        "an empty repository instead of cloning the new, empty CodeCommit one",
    ),
    (
        re.compile(r"^cd /path/to/sagemaker-model-cicd$"),
        f"cd {shlex.quote(str(ROOT))}",
        "this clone",
    ),
    (
        re.compile(r"^python3 -m venv model-build-venv$"),
        f"ln -s {shlex.quote(str(EXAMPLE_VENV))} model-build-venv",
        "the venv the Quick start installed from the same lock, with the same command",
    ),
]
MODULE_COPY_QUICKSTART = (
    f"ln -s {shlex.quote(str(ROOT / '.venv'))} .venv && ln -s {shlex.quote(str(ROOT / 'node_modules'))} "
    f"node_modules && ln -s {shlex.quote(str(EXAMPLE_VENV))} examples/model-build-repo/.venv"
)


@dataclass
class Command:
    doc: str
    text: str
    kind: str  # aws, setup or run
    runs: str | None = None  # what the shell runs: the text, a stand-in, or nothing
    why: str = ""


def fenced(path: Path) -> Iterator[tuple[str, str, str]]:
    """(language, body, the line before the fence) of every fenced block, in order."""
    for match in re.finditer(r"^( *)```(\w*)\n(.*?)^\1```", path.read_text(), re.MULTILINE | re.DOTALL):
        before = path.read_text()[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        yield match.group(2), re.sub(r"^" + match.group(1), "", match.group(3), flags=re.MULTILINE), before


def logical_lines(body: str) -> Iterator[str]:
    """Shell lines with continuations joined, a ``for … done`` as one, comments and blanks dropped."""
    lines: list[str] = []
    pending = ""
    for raw in body.splitlines():
        line = re.sub(r"\s+#(?![^'\"]*['\"]).*$", "", raw) if not raw.lstrip().startswith("#") else ""
        if not line.strip() and not pending:
            continue
        pending += line.rstrip("\\").strip() + (" " if line.endswith("\\") else "")
        if line.endswith("\\"):
            continue
        lines.append(pending)
        pending = ""
    loop: list[str] = []
    for line in lines:
        if loop or line.startswith("for "):
            loop.append(line)
            if line == "done":
                yield "; ".join(loop).replace("do;", "do")
                loop = []
            continue
        yield line


def classify(doc: Path, text: str, cwd_is_clone: bool) -> Command:
    name = doc.relative_to(ROOT).as_posix()
    for pattern, replacement, why in STAND_INS:
        if pattern.match(text):
            return Command(
                name, text, "aws" if "codecommit" in text else "setup", pattern.sub(replacement, text), why
            )
    if text == "./scripts/quickstart.sh" and not cwd_is_clone:
        return Command(
            name, text, "setup", MODULE_COPY_QUICKSTART, "links what this clone's Quick start made"
        )
    if NEEDS_AWS.search(text):
        return Command(name, text, "aws", None, "needs an AWS account")
    if SETUP.match(text):
        return Command(name, text, "setup", None, "sets up a machine: .ci/run, and the pins checked here")
    return Command(name, text.replace(CLONE, shlex.quote(str(ROOT))), "run", None, "run as written")


def doc_script(doc: Path) -> tuple[list[Command], str]:
    """The document's commands, classified, and the one bash script that runs them in order."""
    commands: list[Command] = []
    script = ["set -eo pipefail"]
    in_clone = doc == README
    from_aws: set[str] = set()  # files an AWS command writes: what reads them needs AWS too
    for language, body, before in fenced(doc):
        if language == "yaml" and (file := re.search(r"^`([\w./-]+\.ya?ml)`", before)):
            script.append(
                f"mkdir -p $(dirname {file.group(1)}) && cat > {file.group(1)} <<'DOC_EOF'\n{body}DOC_EOF"
            )
            continue
        if language != "bash":
            continue
        # The README's blocks stand alone (each from a fresh shell in the clone); the guide's follow on.
        script.append("( :" if doc == README else "{ :")
        exported = False
        for line in logical_lines(body):
            after_aws = False  # in a && chain, what follows an AWS command runs only after it
            for part in line.split(" && "):
                command = classify(doc, part, in_clone)
                if command.kind == "run" and (after_aws or any(f in part.split() for f in from_aws)):
                    command = Command(command.doc, part, "aws", None, "needs what an AWS command made")
                if command.kind == "aws" and command.runs is None:
                    after_aws = True
                    from_aws |= set(re.findall(r">\s*(\S+)", part))
                if command.kind == "run" and not exported and part in QUICK_START:
                    command = Command(command.doc, part, "setup", None, "the Quick start runs it as written")
                exported = exported or part.startswith("export ")
                if command.kind == "run":
                    command.runs = command.text
                commands.append(command)
                if command.runs is None:
                    continue
                index = len(commands) - 1
                script.append(f'echo {index} >> "$DOC_RAN"')
                script.append(f'{{ {command.runs}\n}} > "$DOC_OUT/{index}.out" 2> "$DOC_OUT/{index}.err"')
                if part.startswith("cd "):
                    in_clone = part.endswith(CLONE)
        script.append(")" if doc == README else "}")
    return commands, "\n".join(script) + "\n"


@dataclass
class DocRun:
    commands: list[Command]
    ran: list[int]
    returncode: int
    out: Path
    cwd: Path
    assembly: Synth | None = None
    """What the README's one ``scripts/cdk.sh synth`` wrote to ``cdk.out``, read as soon as it ran."""

    def output(self, index: int) -> tuple[str, str]:
        return (self.out / f"{index}.out").read_text(), (self.out / f"{index}.err").read_text()

    def report(self) -> str:
        rows = []
        for index, command in enumerate(self.commands):
            if index in self.ran:
                what = "ran" if command.kind == "run" else f"ran a stand-in ({command.why}): {command.runs}"
            else:
                what = f"not run: {command.kind}, {command.why}"
            rows.append(f"{command.doc}: {command.text}\n    {what}")
        return "\n".join(rows)


def run_doc(doc: Path, cwd: Path, out: Path) -> DocRun:
    commands, script = doc_script(doc)
    out.mkdir(parents=True, exist_ok=True)
    ran = out / "ran"
    ran.touch()
    env = clean_environment(
        {
            "DOC_RAN": str(ran),
            "DOC_OUT": str(out),
            "GIT_AUTHOR_NAME": "Reader",
            "GIT_AUTHOR_EMAIL": "reader@example.com",
            "GIT_COMMITTER_NAME": "Reader",
            "GIT_COMMITTER_EMAIL": "reader@example.com",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "HOME": str(out),
        }
    )
    # The reader's shell: no venv active (the docs must not need one), Python from the system.
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(ROOT)))
    result = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    indexes = [int(line) for line in ran.read_text().split()]
    # The README's synth writes the clone's cdk.out (the guide's, the reader's module copy: not read).
    synths = [i for i in indexes if "cdk.sh synth" in commands[i].text]
    assembly = read_assembly(cwd / "cdk.out") if doc == README and synths and result.returncode == 0 else None
    run = DocRun(commands, indexes, result.returncode, out, cwd, assembly)
    if result.returncode != 0:
        failed = commands[indexes[-1]] if indexes else None
        detail = run.output(indexes[-1]) if indexes else ("", result.stderr)
        pytest.fail(
            f"{failed.text if failed else 'the script'} failed:\n{detail[0][-3000:]}{detail[1][-3000:]}"
        )
    return run


def _guide_run(folder: Path) -> DocRun:
    """The guide from a reader's empty folder (its own scratch infra repository)."""
    (folder / "reader").mkdir()
    return run_doc(GUIDE, folder / "reader", folder / "log")


# Both run beside the suite's synths from the session's start (they synthesize too).
BACKGROUND_JOBS["readme_run"] = lambda folder: run_doc(README, ROOT, folder)
BACKGROUND_JOBS["guide_run"] = _guide_run


@pytest.fixture(scope="module")
def readme_run(synth_pool: SynthPool) -> DocRun:
    run: DocRun = synth_pool.job("readme_run")
    print(run.report())
    return run


@pytest.fixture(scope="module")
def guide_run(synth_pool: SynthPool) -> DocRun:
    run: DocRun = synth_pool.job("guide_run")
    print(run.report())
    return run


def test_every_document_with_commands_is_run_here() -> None:
    with_commands = [doc for doc in DOCS if any(lang == "bash" for lang, _, _ in fenced(doc))]
    assert with_commands == [README, GUIDE]


def test_the_readme_runs_as_written(readme_run: DocRun) -> None:
    ran = [readme_run.commands[i].text for i in readme_run.ran]
    synths = [text for text in ran if text.startswith("scripts/cdk.sh synth ")]
    assert len(synths) == 1, ran
    assert "APPROVED_MODEL_INFO" in README.read_text().split(synths[0])[0].rsplit("```bash", 1)[1]
    by_hand = [c.text for c in readme_run.commands if c.why == "the Quick start runs it as written"]
    assert len(by_hand) == 1, "Synthesizing by hand is the Quick start's own synth"
    assert by_hand[0].startswith("scripts/cdk.sh synth -c manifest=examples/sample-ml-model-name.yaml ")
    assert all(c.kind != "run" or i in readme_run.ran for i, c in enumerate(readme_run.commands))


def test_the_readmes_one_account_trial_keeps_everything_in_one_account(readme_run: DocRun) -> None:
    """The one-account trial manifest, as the README synthesizes it after an approval (the suite's only
    synth of that manifest): every stack, the real endpoint too, in the one account."""
    assert readme_run.assembly is not None
    synth = readme_run.assembly
    assert {stack.account for stack in synth.stacks.values()} == {"111111111111"}
    endpoint = synth.stack("trial/ModelDeploy/trial/Endpoint")
    assert "AWS::SageMaker::Endpoint" in {r["Type"] for r in endpoint.template["Resources"].values()}


def test_the_guide_runs_as_written(guide_run: DocRun) -> None:
    ran = {guide_run.commands[i].text for i in guide_run.ran}
    assert "./scripts/cdk.sh synth -c manifest=../../../manifests/deployment.yaml" in ran
    assert all(c.kind != "run" or i in guide_run.ran for i, c in enumerate(guide_run.commands))
    infra = guide_run.cwd / "mlops-infra"
    committed = subprocess.run(
        ["git", "ls-files"], cwd=infra, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert "modules/sagemaker/sagemaker-model-cicd/app.py" in committed
    assert "manifests/models/churn-cicd.yaml" in committed
    leaked = [f for f in committed if re.search(r"(^|/)(\.venv|node_modules|cdk\.out)/", f)]
    assert leaked == [], "the Quick start's output must not be committed to the infra repository"
    # Step 7's dataset, from the example's lock: a header row and a numeric target column.
    header = (guide_run.cwd / "diabetes.csv").read_text().splitlines()[0].split(",")
    assert header[-1] == "target"
    assert len((guide_run.cwd / "row.csv").read_text().strip().split(",")) == len(header) - 1


@pytest.mark.parametrize("which", ["readme_run", "guide_run"])
def test_every_synth_ends_with_the_plan_and_prints_no_template(
    which: str, request: pytest.FixtureRequest
) -> None:
    run: DocRun = request.getfixturevalue(which)
    synths = [i for i in run.ran if "cdk.sh synth" in run.commands[i].text]
    assert synths
    for index in synths:
        stdout, stderr = run.output(index)
        assert stdout == "", "the template goes to cdk.out only"
        log = "\n" + stderr
        after_plan = [line for line in log[log.index("\nPlan: ") + 1 :].splitlines() if line.strip()]
        assert all(line.startswith("  ") for line in after_plan[1:]), after_plan
        assert after_plan[1].startswith("  as seedfarmer module "), after_plan


def test_the_guide_synth_names_what_seedfarmer_deploys(guide_run: DocRun) -> None:
    (index,) = [i for i in guide_run.ran if "cdk.sh synth" in guide_run.commands[i].text]
    _, stderr = guide_run.output(index)
    assert "Plan: mlops-platform-models-churn-cicd in tooling account 111111111111 (us-east-1)" in stderr
    assert "  as seedfarmer module models-churn-cicd of deployment platform, project mlops" in stderr
    assert (
        "Seedfarmer deploys the module's top stack, `mlops-platform-models-churn-cicd`" in GUIDE.read_text()
    )
    assert "-> prod: 444444444444 (us-east-1, prod)" in stderr
    assert "after a manual approval" in stderr


def test_the_quick_start_is_what_ci_runs_in_a_fresh_clone() -> None:
    (quick_start,) = [
        body for lang, body, before in fenced(README) if lang == "bash" and "quickstart" in body
    ]
    ci = [
        re.sub(r"^timeout \S+ ", "", line)
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if re.match(r"(timeout \S+ )?\./scripts/", line)
    ]
    assert ci == quick_start.split("\n")[:-1]


def test_setup_commands_install_the_pinned_versions() -> None:
    """What the guide installs by hand is what the Quick start installs from."""
    guide_setup = [c.text for c in doc_script(GUIDE)[0] if c.kind == "setup"]
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()
    (seedfarmer,) = [c for c in guide_setup if "seed-farmer" in c]
    assert re.search(r"seed-farmer==[\d.]+", seedfarmer).group(0) in dev  # type: ignore[union-attr]
    quickstart = (ROOT / "scripts" / "quickstart.sh").read_text()
    assert (
        "model-build-venv/bin/pip install --require-hashes -r churn-model-build/requirements-dev.txt"
        in guide_setup
    )
    assert "--require-hashes -r examples/model-build-repo/requirements-dev.txt" in quickstart
