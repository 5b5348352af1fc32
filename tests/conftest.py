"""Shared synths: each configuration is synthesized once per test run and read by many tests."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from moto import mock_aws

from benchmarks.synth_benchmark import groups as benchmark_groups
from names import GroupNames
from seedfarmer_manifest import parameter_environment

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_MANIFEST = ROOT / "examples" / "sample-ml-model-name.yaml"
MANIFESTS = ROOT / "examples" / "manifests"
GITHUB_MANIFEST = MANIFESTS / "github-hosted.yaml"
ONE_ACCOUNT_MANIFEST = MANIFESTS / "one-account-trial.yaml"
CDK_CLI = ROOT / "node_modules" / ".bin" / "cdk"
TOOLING_ACCOUNT = "111111111111"
TOOLING_REGION = "us-east-1"
# cfn-lint findings allowed: W3005 is CDK's explicit DependsOn beside an implicit one.
CFN_LINT_ALLOWED = ("W3005",)
OWN_PREFIXES = ("SEEDFARMER_", "CDK_DEFAULT_", "APPROVED_MODEL_INFO", "CDK_CONTEXT_JSON", "CDK_OUTDIR")
# The environment the suite started with. Subprocesses start from it, not from os.environ, which tests
# change (moto's fake credentials and region) while the background synths start; and without AWS's
# variables, which the CDK CLI would read (a region would become the synth's default region).
STARTING_ENVIRONMENT = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", *OWN_PREFIXES))}


def manifest_parameters(path: Path = EXAMPLE_MANIFEST) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = yaml.safe_load(path.read_text())["parameters"]
    return parameters


def seedfarmer_environment(
    parameters: list[dict[str, Any]] | None = None,
    *,
    project: str = "mlops",
    deployment: str = "demo",
    module: str = "models-sagemaker-model-cicd",
    account: str = TOOLING_ACCOUNT,
    region: str = TOOLING_REGION,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables ``seedfarmer apply`` sets for this module (generic names, as deployspec asks)."""
    env = parameter_environment(manifest_parameters() if parameters is None else parameters, "test")
    env.update(
        {
            "SEEDFARMER_PROJECT_NAME": project,
            "SEEDFARMER_DEPLOYMENT_NAME": deployment,
            "SEEDFARMER_MODULE_NAME": module,
            "SEEDFARMER_MODULE_METADATA": "",
            "CDK_DEFAULT_ACCOUNT": account,
            "CDK_DEFAULT_REGION": region,
        }
    )
    env.update(extra or {})
    return env


def jsii_package_cache() -> Path:
    """Where jsii keeps the libraries it unpacks, by default under the user's home (jsii's own rule)."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "com.amazonaws.jsii" / "package-cache"
    return Path.home() / ".cache" / "aws" / "jsii" / "package-cache"


# jsii's package cache stays where it is when a test gives a process a home of its own: unpacking
# aws-cdk-lib again took 6 to 10 s of CPU per synth.
STARTING_ENVIRONMENT.setdefault("JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(jsii_package_cache()))


def clean_environment(variables: Mapping[str, str]) -> dict[str, str]:
    """The suite's starting environment (without what configures the module or AWS), plus ``variables``."""
    env = dict(STARTING_ENVIRONMENT)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(variables)
    return env


@dataclass
class StackArtifact:
    display_name: str
    stack_name: str
    account: str
    region: str
    template: dict[str, Any]
    tags: dict[str, str]
    assets_file: Path | None


@dataclass(frozen=True)
class Lint:
    """cfn-lint over the templates a synth made first (texts an earlier synth made were linted there)."""

    templates: int
    returncode: int
    findings: str


@dataclass
class Synth:
    outdir: Path
    stacks: dict[str, StackArtifact] = field(default_factory=dict)
    log: str = ""
    """What the app printed on standard error (notes and the plan)."""
    lint: Lint | None = None

    def stack(self, suffix: str) -> StackArtifact:
        """The one stack whose display name ends with ``suffix``."""
        found = [s for name, s in self.stacks.items() if name.endswith(suffix)]
        assert len(found) == 1, f"{suffix}: {sorted(self.stacks)}"
        return found[0]

    def resources(self, kind: str) -> Iterator[tuple[StackArtifact, str, dict[str, Any]]]:
        for stack in self.stacks.values():
            for logical_id, resource in stack.template.get("Resources", {}).items():
                if resource["Type"] == kind:
                    yield stack, logical_id, resource


def group_details(synth: Synth) -> dict[str, dict[str, Any]]:
    """Each group's detail parameter in the top stack, by group name (its value decoded)."""
    top = synth.stack("MlopsCicd")
    path = json.loads(top.template["Outputs"]["metadata"]["Value"])["DeploymentGroupsParameterPath"]
    return {
        resource["Properties"]["Name"].removeprefix(path): {
            **resource["Properties"],
            "Value": json.loads(resource["Properties"]["Value"]),
        }
        for resource in top.template["Resources"].values()
        if resource["Type"] == "AWS::SSM::Parameter" and resource["Properties"]["Name"].startswith(path)
    }


def read_assembly(outdir: Path) -> Synth:
    """The stacks of the assembly in ``outdir`` and the nested assemblies its manifest names (a folder
    may hold older nested assemblies too: the CLI never empties it)."""
    synth = Synth(outdir)
    folders = [outdir]
    while folders:
        folder = folders.pop(0)
        manifest = json.loads((folder / "manifest.json").read_text())
        for artifact in manifest.get("artifacts", {}).values():
            props = artifact.get("properties", {})
            if artifact["type"] == "cdk:cloud-assembly":
                folders.append(folder / props["directoryName"])
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            account, _, region = artifact["environment"].removeprefix("aws://").partition("/")
            assets = [d for d in artifact.get("dependencies", []) if d.endswith(".assets")]
            synth.stacks[artifact["displayName"]] = StackArtifact(
                display_name=artifact["displayName"],
                stack_name=props.get("stackName", artifact["displayName"]),
                account=account,
                region=region,
                template=json.loads((folder / props["templateFile"]).read_text()),
                tags=props.get("tags", {}),
                assets_file=(folder / f"{assets[0]}.json") if assets else None,
            )
    return synth


def cli_command(outdir: Path, *extra: str) -> list[str]:
    """Synthesize as seedfarmer's deployspec does: the pinned CDK CLI running ``python app.py``."""
    if not CDK_CLI.exists():
        pytest.fail(f"{CDK_CLI} is missing: run the Quick start's setup command (npm ci) first")
    return [
        str(CDK_CLI),
        "synth",
        "--quiet",
        "--app",
        f"{sys.executable} app.py",
        "--output",
        str(outdir),
        *extra,
    ]


def _environments(parameters: list[dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Each (account, build region, endpoint settings) the deployment groups deploy an endpoint to."""
    for parameter in parameters:
        if parameter["name"] != "deployment-groups":
            continue
        for group in parameter["value"]:
            build = group["buildEnvironment"]
            for environment in [build, *group.get("deployEnvironments", [])]:
                yield str(environment["account"]), build["region"], environment.get("endpoint", {})


def endpoint_network_ids(account: str) -> tuple[list[str], str]:
    """The subnets and security group each account's SSM parameters hold in the tests (17-hex ids)."""
    return [f"subnet-0a000{account}", f"subnet-0b000{account}"], f"sg-0c000{account}"


def ssm_lookup_key(account: str, parameter: str, region: str) -> str:
    """The context key under which CDK caches an SSM lookup (``StringParameter.value_from_lookup``)."""
    return f"ssm:account={account}:parameterName={parameter}:region={region}"


def network_lookups(parameters: list[dict[str, Any]], project: str = "mlops") -> dict[str, str]:
    """The SSM context lookups of every endpoint's VPC values, answered as the target accounts would.

    The deploy pipeline's synth makes them through each account's CDK lookup role; offline, the CLI
    finds them in its user context (``~/.cdk.json``). Ids are derived from the account, so each differs.
    """
    context = {}
    for account, region, endpoint in _environments(parameters):
        subnets = endpoint.get("subnetIdsParameter", f"/{project}/vpc/subnets/private/ids")
        security_group = endpoint.get("securityGroupIdParameter", f"/{project}/vpc/sg/id")
        subnet_ids, security_group_id = endpoint_network_ids(account)
        context[ssm_lookup_key(account, subnets, region)] = ",".join(subnet_ids)
        context[ssm_lookup_key(account, security_group, region)] = security_group_id
    return context


# One slot per core for the suite's heavy work (CDK synths, runs of the documented commands): more at once
# only makes each slower.
SYNTH_SLOTS = threading.BoundedSemaphore(os.cpu_count() or 1)

# Other heavy work a test module registers when imported, run in the pool's slots from the session's start
# (test_docs' runs of the documented commands): fixture name -> the work, given a folder of its own.
BACKGROUND_JOBS: dict[str, Callable[[Path], object]] = {}


class SynthPool:
    """The suite's shared synths, started on first use, as many at a time as there are cores.

    More at once only makes each slower (and a busy machine slower still); none has a time limit, so
    a loaded machine makes the suite slow, never wrong (.ci/run limits the whole run instead). Jobs of
    :data:`BACKGROUND_JOBS` share the slots.
    """

    def __init__(
        self,
        root: Path,
        configurations: Mapping[str, Mapping[str, str]],
        *,
        validated: frozenset[str] = frozenset(),
        linted: Mapping[str, tuple[str, ...]] | None = None,
        lookups: Mapping[str, Mapping[str, str]] | None = None,
        through_cli: frozenset[str] = frozenset(),
    ) -> None:
        self._root = root
        self._configurations = configurations
        self.configurations = tuple(configurations)
        # Context lookups answered per configuration (the CLI finds them in a home folder of its own).
        self._lookups = lookups or {}
        # These through the pinned CDK CLI, each in a process of its own; the others in a synth worker
        # (tests/synth_worker.py), one process per slot running app.py's main for one after another.
        self._through_cli = through_cli
        self._idle_workers: list[subprocess.Popen[str]] = []
        # CDK's CloudFormation validation (-c validate=true) runs on these only; cfn-lint checks them all.
        self._validated = validated
        # cfn-lint runs in the slot right after each of these synths, over the templates whose file names
        # match its patterns and whose texts no earlier one made.
        self._linted = linted or {}
        self._lint_hashes: set[str] = set()
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()
        self._jobs: dict[str, Future[Any]] = {}
        self._extra: Mapping[str, Callable[[Path], object]] = {}
        self._running: set[subprocess.Popen[Any]] = set()
        self._closed = False
        self._workers = 0
        self._done: dict[str, Synth] = {}

    def _process(self, command: list[str], **options: Any) -> int:
        """Run ``command`` to its end; killed if the session ends first."""
        process = subprocess.Popen(command, **options)
        with self._lock:
            self._running.add(process)
        process.wait()
        with self._lock:
            self._running.discard(process)
        return process.returncode

    def _lint(self, name: str) -> Lint:
        templates = []
        for path in sorted((self._root / name / "cdk.out").rglob("*.template.json")):
            if not any(path.match(pattern) for pattern in self._linted[name]):
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            with self._lock:
                if digest not in self._lint_hashes:
                    self._lint_hashes.add(digest)
                    templates.append(str(path))
        if not templates:
            return Lint(0, 0, "")
        findings = self._root / name / "cfn-lint.txt"
        with findings.open("wb") as output:
            command = [str(Path(sys.executable).with_name("cfn-lint")), "--format", "parseable"]
            command += ["--ignore-checks", *CFN_LINT_ALLOWED, "--", *templates]
            # A folder of its own: the working directory is the process's, and a test may chdir meanwhile.
            returncode = self._process(command, cwd=self._root, stdout=output, stderr=subprocess.STDOUT)
        return Lint(len(templates), returncode, findings.read_text())

    def _run(self, name: str) -> tuple[int, str, Lint | None]:
        """One synth, then its lint."""
        outdir = self._root / name / "cdk.out"
        outdir.parent.mkdir(parents=True, exist_ok=True)
        if name in self._through_cli:
            returncode, stderr = self._through_the_cli(name, outdir)
        else:
            returncode, stderr = self._in_a_worker(name, outdir)
        lint = self._lint(name) if returncode == 0 and name in self._linted else None
        return returncode, stderr, lint

    def _through_the_cli(self, name: str, outdir: Path) -> tuple[int, str]:
        """Standard error in a file: a pipe nobody reads yet could stall it."""
        log = self._root / name / "stderr.txt"
        validate = ("-c", "validate=true") if name in self._validated else ()
        environment = clean_environment(self._configurations[name])
        if name in self._lookups:
            home = self._root / name / "home"
            home.mkdir(parents=True)
            (home / ".cdk.json").write_text(json.dumps({"context": self._lookups[name]}))
            environment["HOME"] = str(home)
        with log.open("wb") as stderr:
            command = cli_command(outdir, *validate)
            returncode = self._process(
                command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=stderr
            )
        return returncode, log.read_text()

    def _in_a_worker(self, name: str, outdir: Path) -> tuple[int, str]:
        """The worker gets the context the CLI would pass; what Node.js prints is in the worker's log."""
        with self._lock:
            worker = self._idle_workers.pop() if self._idle_workers else None
            if worker is None and not self._closed:
                with (self._root / f"worker-{len(self._running)}.txt").open("w") as log:
                    worker = subprocess.Popen(
                        [sys.executable, str(ROOT / "tests" / "synth_worker.py")],
                        cwd=ROOT,
                        env=clean_environment({}),
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=log,
                        text=True,
                    )
                self._running.add(worker)
        if worker is None or worker.stdin is None or worker.stdout is None:
            return -1, "the session ended"
        context = {**self._lookups.get(name, {}), **({"validate": "true"} if name in self._validated else {})}
        request = {
            "environment": clean_environment(self._configurations[name]),
            "context": context,
            "outdir": str(outdir),
        }
        worker.stdin.write(json.dumps(request) + "\n")
        worker.stdin.flush()
        answer = worker.stdout.readline()
        if not answer:  # it died: its log says why
            logs = "".join(p.read_text() for p in sorted(self._root.glob("worker-*.txt")))
            return -1, f"the synth worker ended: {logs[-5000:]}"
        with self._lock:
            self._idle_workers.append(worker)
        result = json.loads(answer)
        return int(result["returncode"]), str(result["stderr"])

    def _work(self) -> None:
        while True:
            with self._lock:
                if self._closed or not self._queue:
                    self._workers -= 1
                    return
                name = self._queue.popleft()
            try:
                with SYNTH_SLOTS:
                    if name in self._extra:
                        (self._root / name).mkdir()
                        self._jobs[name].set_result(self._extra[name](self._root / name))
                    else:
                        self._jobs[name].set_result(self._run(name))
            except BaseException as error:  # handed to the test that waits for it, not lost in a thread
                self._jobs[name].set_exception(error)

    def queue(
        self, names: Iterable[str] = (), extra: Mapping[str, Callable[[Path], object]] | None = None
    ) -> None:
        """Queue the synths ``names`` and the ``extra`` jobs not queued yet, the whole queue in
        :data:`QUEUE_ORDER`; the tests that need none run meanwhile."""
        with self._lock:
            self._extra = {**self._extra, **(extra or {})}
            for name in [*names, *(extra or {})]:
                if name not in self._jobs:
                    self._jobs[name] = Future()
                    self._queue.append(name)
            ordered = sorted(self._queue, key=lambda n: QUEUE_ORDER.index(n) if n in QUEUE_ORDER else 99)
            self._queue.clear()
            self._queue.extend(ordered)
            while self._workers < min(os.cpu_count() or 1, len(self._queue)):
                self._workers += 1
                threading.Thread(target=self._work, daemon=True).start()

    def _result(self, name: str) -> Any:
        if name not in self._jobs:  # a synth no selected test was known to need: queued now
            self.queue([name])
        with self._lock:  # a test waits for this one: it goes next
            if name in self._queue:
                self._queue.remove(name)
                self._queue.appendleft(name)
        return self._jobs[name].result()

    def job(self, name: str) -> Any:
        """What the registered job ``name`` returned (it raises what the job raised)."""
        return self._result(name)

    def get(self, name: str) -> Synth:
        if name not in self._done:
            returncode, stderr, lint = self._result(name)
            assert returncode == 0, f"{name}: {stderr[-5000:]}"
            self._done[name] = read_assembly(self._root / name / "cdk.out")
            self._done[name].log = stderr
            self._done[name].lint = lint
        return self._done[name]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for process in self._running:
                process.kill()


LONG_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "infra-repo",
        "value": {
            "host": "codecommit",
            "name": "Infra.Repo_With-Long-Name",
            "branch": "release/2026",
            "path": "modules/sagemaker/sagemaker-model-cicd",
        },
    },
    {"name": "model-build-repo", "value": {"host": "codecommit", "name": "model-build-repo"}},
    {"name": "permissions-boundary-name", "value": "OrgPermissionsBoundary"},
    {"name": "s3-access-logs-bucket-arn", "value": "arn:aws:s3:::org-tooling-access-logs"},
    {"name": "tags", "value": {"CostCenter": "ml-4242", "Owner": "platform"}},
    # The module's own topic (emails) and a Slack channel; a group in a second region gets a relay.
    {
        "name": "notifications",
        "value": {
            "emails": ["ml-team@example.com", "on-call@example.com"],
            "slackChannelConfigurationArn": (
                f"arn:aws:chatbot::{TOOLING_ACCOUNT}:chat-configuration/slack-channel/ml-alerts"
            ),
        },
    },
    {
        "name": "deployment-groups",
        "value": [
            {
                "name": "Very-Long-Mixed-Case-Deployment-Group-Name-For-Limits-Testing-X",
                "sourceBranch": "feature/long-branch",
                # Today's shape before waves: one stage per environment, each behind its approval.
                "deployOrder": "sequential",
                "buildEnvironment": {
                    "name": "Build-Env-With-A-Long-Name",
                    "account": "123456789012",
                    "region": "eu-west-1",
                    "type": "prod",
                },
                "deployEnvironments": [
                    {"name": "Deploy-Env-With-A-Long-Name-Too", "account": "123456789013", "type": "prod"},
                ],
            },
            {
                "name": "Very-Long-Mixed-Case-Deployment-Group-Name-For-Limits-Testing-Y",
                "sourceBranch": "main",
                "buildEnvironment": {
                    "name": "train",
                    "account": "123456789012",
                    "region": "us-east-1",
                    "type": "dev",
                },
                # Long names side by side in one wave.
                "deployEnvironments": [
                    {"name": "Deploy-Env-With-A-Long-Name-Too", "account": "123456789014", "type": "dev"},
                ],
            },
        ],
    },
]


LONG_NAMES_CONTEXT = {
    "project": "Machine-Learning-Platform-Project",
    "deployment": "Production-Deployment-Name",
    "module": "Sagemaker-Group-Sagemaker-Model-Cicd-Module-Name",
    "extra": {"SEEDFARMER_PERMISSIONS_BOUNDARY_ARN": f"arn:aws:iam::{TOOLING_ACCOUNT}:policy/sf-boundary"},
}
EXAMPLE_STACK_NAME = "mlops-demo-models-sagemaker-model-cicd"


def approved_model_environment(
    group: str,
    version: int = 3,
    *,
    manifest: Path = EXAMPLE_MANIFEST,
    model_key: str = "models/training-1/output/model.tar.gz",
) -> dict[str, str]:
    """What the deploy pipeline's synth sees after ``group`` (of ``manifest``) approved a version."""
    (build,) = [
        g["buildEnvironment"]
        for p in manifest_parameters(manifest)
        if p["name"] == "deployment-groups"
        for g in p["value"]
        if g["name"] == group
    ]
    names = GroupNames(f"{EXAMPLE_STACK_NAME}-{group}", build["account"], build["region"])
    info = {
        "modelPackageArn": (
            f"arn:aws:sagemaker:{names.build_region}:{names.build_account}:model-package/"
            f"{names.model_package_group}/{version}"
        ),
        "modelDataUrl": f"s3://{names.artifacts_bucket}/{model_key}",
        "imageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
    }
    return {"APPROVED_MODEL_INFO": json.dumps(info), "APPROVED_MODEL_GROUP": group}


THREE_ACCOUNTS_MANIFEST = MANIFESTS / "three-accounts.yaml"
THREE_ACCOUNTS_APPROVED = approved_model_environment(
    "release", manifest=THREE_ACCOUNTS_MANIFEST, model_key="models/release/3/model.tar.gz"
)


def codecommit_parameters(deployment_groups: list[dict[str, object]]) -> list[dict[str, Any]]:
    """The required parameters around ``deployment_groups``, both repositories on CodeCommit."""
    return [
        {"name": "infra-repo", "value": {"host": "codecommit", "name": "infra"}},
        {"name": "model-build-repo", "value": {"host": "codecommit", "name": "models"}},
        {"name": "deployment-groups", "value": deployment_groups},
    ]


_POOL: list[SynthPool] = []  # the session's, once made


def session_pool(config: pytest.Config) -> SynthPool:
    """The session's pool of shared synths, made on first use (before collection, for the whole suite)."""
    if _POOL:
        return _POOL[0]
    factory: pytest.TempPathFactory = config._tmp_path_factory  # type: ignore[attr-defined]
    pool = SynthPool(
        factory.mktemp("synths"),
        {
            "fifty": seedfarmer_environment(codecommit_parameters(benchmark_groups(50))),
            # The README example as each group's deploy pipeline synthesizes it after an approval.
            "approved": seedfarmer_environment(extra=approved_model_environment("prod-deployment-group")),
            # The README example under seedfarmer's own variables, through the CLI that deployspec pins.
            "example": seedfarmer_environment(),
            # Long, mixed-case names everywhere, a boundary, tags, a user log bucket and a second region.
            "long": seedfarmer_environment(LONG_PARAMETERS, **LONG_NAMES_CONTEXT),  # type: ignore[arg-type]
            # The other ready manifests a newcomer starts from; three accounts after its release group
            # approved a version, so its endpoints (with data capture) are real stacks too.
            **{
                f"manifest-{path.stem}": seedfarmer_environment(
                    manifest_parameters(path),
                    extra=THREE_ACCOUNTS_APPROVED if path == THREE_ACCOUNTS_MANIFEST else None,
                )
                for path in sorted(MANIFESTS.glob("*.yaml"))
                # The one-account trial: the README's own synth of it is read instead (test_docs).
                if path not in (GITHUB_MANIFEST, ONE_ACCOUNT_MANIFEST)
            },
            # Both repositories on GitHub through one CodeConnections connection.
            "github": seedfarmer_environment(manifest_parameters(GITHUB_MANIFEST)),
        },
        # As seedfarmer's deployspec synthesizes (-c validate=true), on a ready manifest with real
        # endpoints; cfn-lint checks every kind of template anyway, and CDK's validation adds a third.
        validated=frozenset({"manifest-three-accounts"}),
        # Between them every kind of template: placeholders and real endpoints, long names, a second
        # region, a boundary, both repository hosts (a host shows only in the pipelines it is the source
        # of: the infra pipeline's, in the top stack, and the model build pipelines').
        linted={
            "example": ("*",),
            "long": ("*",),
            "approved": ("*",),
            "github": ("MlopsCicd.template.json", "*ModelBuild*.template.json"),
        },
        lookups={
            "approved": network_lookups(manifest_parameters()),
            "manifest-three-accounts": network_lookups(manifest_parameters(THREE_ACCOUNTS_MANIFEST)),
        },
        # The README example as deployspec runs it (the README's and the guide's commands go through the
        # CLI too); the others in the workers, byte for byte the same (test_stack compares the example's
        # templates with the approved synth's, made in another process), at a third of the CPU.
        through_cli=frozenset({"example"}),
    )
    _POOL.append(pool)
    return pool


@pytest.fixture(scope="session")
def synth_pool(request: pytest.FixtureRequest) -> Iterator[SynthPool]:
    pool = session_pool(request.config)
    yield pool
    pool.close()


MODEL_BUILD_REPO = ROOT / "examples" / "model-build-repo"
MODEL_BUILD_REPO_PYTHON = MODEL_BUILD_REPO / ".venv" / "bin" / "python"
OFFLINE_AWS = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "SAGEMAKER_VALIDATE_ROLE": "false",
}
# In the example's venv, one process (the SDK imports once, ~4 s of CPU): its test suite, with its report in
# the file argv[1], then a line saying so; then, for the contracts read from standard input (a JSON list),
# the pipeline definitions as one JSON list.
RUN_EXAMPLE = """
import contextlib, io, json, os, sys
import pytest
from pipelines import run
report = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
sys.stdout.flush()
terminal = os.dup(1)
os.dup2(report, 1)
code = pytest.main(["-q", "-p", "no:cacheprovider"])
sys.stdout.flush()
os.dup2(terminal, 1)
print(f"tests exited {int(code)}", flush=True)
definitions = []
for contract in json.loads(sys.stdin.read()):
    os.environ.update(contract)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert run.main(["--print-definition"]) == 0
    definitions.append(json.loads(printed.getvalue()))
print(json.dumps(definitions))
"""


def resolve_partition(value: object) -> str:
    """A CloudFormation string value (plain, or joined around AWS::Partition) in the aws partition."""
    if isinstance(value, str):
        return value
    assert isinstance(value, dict), value
    if value == {"Ref": "AWS::Partition"}:
        return "aws"
    separator, parts = value["Fn::Join"]
    return str(separator).join(resolve_partition(part) for part in parts)


def model_build_project_variables(template: Mapping[str, Any]) -> dict[str, str] | None:
    """The variables a template's model build project hands the model-build repository, if it has one."""
    for resource in template.get("Resources", {}).values():
        variables = resource.get("Properties", {}).get("Environment", {}).get("EnvironmentVariables", [])
        if resource["Type"] == "AWS::CodeBuild::Project" and any(
            variable["Name"] == "ASSUME_ROLE_ARN" for variable in variables
        ):
            return {variable["Name"]: resolve_partition(variable["Value"]) for variable in variables}
    return None


class ModelBuildRepoRuns:
    """The example model-build repository's own tests (started with the session beside the synths), then
    the pipelines it defines from given project variables: one process in its venv."""

    def __init__(self, folder: Path) -> None:
        self._report = folder / "tests.txt"
        self._stderr = folder / "stderr.txt"
        self._process: subprocess.Popen[str] | None = None
        self._tests: subprocess.CompletedProcess[str] | None = None

    def start(self) -> None:
        if self._process is not None:
            return
        if not MODEL_BUILD_REPO_PYTHON.exists():
            pytest.fail(
                f"{MODEL_BUILD_REPO_PYTHON} is missing: ./scripts/quickstart.sh makes the example's venv"
            )
        env = {k: v for k, v in STARTING_ENVIRONMENT.items() if not k.startswith("SAGEMAKER_")} | OFFLINE_AWS
        with self._stderr.open("w") as stderr:  # a file: a pipe nobody reads yet could stall it
            self._process = subprocess.Popen(
                [str(MODEL_BUILD_REPO_PYTHON), "-c", RUN_EXAMPLE, str(self._report)],
                cwd=MODEL_BUILD_REPO,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )

    def tests(self) -> subprocess.CompletedProcess[str]:
        """Its test suite's outcome (its report as standard output), waited for on first use."""
        if self._tests is None:
            self.start()
            assert self._process is not None
            assert self._process.stdout is not None
            line = self._process.stdout.readline()
            report = self._report.read_text() if self._report.exists() else ""
            if not line.startswith("tests exited "):  # it ended before its tests did: say why
                self._process.communicate("[]")
                stderr = line + self._stderr.read_text()
                self._tests = subprocess.CompletedProcess(self._process.args, -1, report, stderr)
            else:
                returncode = int(line.split()[-1])
                self._tests = subprocess.CompletedProcess(self._process.args, returncode, report, "")
        return self._tests

    def definitions(self, contracts: list[dict[str, str]]) -> subprocess.CompletedProcess[str]:
        """The pipeline definition it prints for each contract (a JSON list on standard output)."""
        self.tests()
        assert self._process is not None
        stdout, _ = self._process.communicate(json.dumps(contracts))
        stderr = self._stderr.read_text()
        return subprocess.CompletedProcess(self._process.args, self._process.returncode, stdout, stderr)

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.communicate()


@pytest.fixture(scope="session")
def model_build_repo_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelBuildRepoRuns]:
    runs = ModelBuildRepoRuns(tmp_path_factory.mktemp("model-build-repo"))
    yield runs
    runs.close()


# What a test may wait for: made in the background from the session's start.
BACKGROUND_FIXTURES = frozenset(
    {"synth_pool", "example_synth", "long_names_synth", "approved_synth"}
    | {"fifty_groups_synth", "github_synth", "three_accounts_synth", "model_build_repo_runs"}
)
# The order the background work is queued in, so that both slots end together with little left to wait
# for (CPU seconds, quiet: a synth and its cfn-lint; a worker's first synth adds ~4 to start). One slot:
# fifty groups (40); the other, meanwhile: the approved example (6 + 12), the example through the CLI
# (9 + 2), the guide's commands (14), the README's (8); then both: the long names (3 + 12), three
# accounts (8, with CDK's validation), GitHub (3 + 4). What many tests wait for comes first.
QUEUE_ORDER: tuple[str, ...] = ("fifty", "approved", "example", "guide_run", "readme_run", "long")
QUEUE_ORDER += ("manifest-three-accounts", "github")
# The order it is expected to be ready in; the modules that wait run in the same order.
READY_ORDER: tuple[str, ...] = ("approved", "example", "guide_run", "readme_run", "fifty", "long")
READY_ORDER += ("manifest-three-accounts", "github")
# What each fixture waits for (the pool itself: any synth, so the last).
FIXTURE_WAITS_FOR = {
    "approved_synth": "approved",
    "example_synth": "example",
    "model_build_repo_runs": "example",
    "long_names_synth": "long",
    "three_accounts_synth": "manifest-three-accounts",
    "github_synth": "github",
    "fifty_groups_synth": "fifty",
    "synth_pool": READY_ORDER[-1],
}


def _waits_for(item: pytest.Function) -> int:
    """0 for a test that waits for no background work, else 1 + the place of the last it waits for in
    READY_ORDER. The pool itself counts only as a test's own argument: every synth fixture needs it."""
    arguments = set(inspect.signature(item.function).parameters)
    works = [
        FIXTURE_WAITS_FOR.get(fixture, fixture)
        for fixture in item.fixturenames
        if fixture != "synth_pool" or fixture in arguments
    ]
    return max((READY_ORDER.index(work) + 1 for work in works if work in READY_ORDER), default=0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules that wait for background work run last, so the others run while it is made, each when
    what it waits for is expected to be ready.

    Whole modules move, in their own order, so module-scoped fixtures are still made once.
    """
    ready: dict[str, int] = {}
    for item in items:
        if isinstance(item, pytest.Function):
            module = item.module.__name__
            ready[module] = max(ready.get(module, 0), _waits_for(item))
    items.sort(
        key=lambda item: ready.get(item.module.__name__, 0) if isinstance(item, pytest.Function) else 0
    )


def _synths_needed(items: list[pytest.Item]) -> set[str] | None:
    """The synths the selected tests wait for (a narrow run makes only those); None, all of them, when a
    test takes the pool itself."""
    needed = set()
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        if "synth_pool" in inspect.signature(item.function).parameters:
            return None
        needed |= {
            FIXTURE_WAITS_FOR[fixture]
            for fixture in item.fixturenames
            if fixture in FIXTURE_WAITS_FOR and fixture not in ("synth_pool", "model_build_repo_runs")
        }
    return needed


def pytest_collection(session: pytest.Session) -> None:
    """A run of the whole suite queues every synth before collecting its tests: collection imports for
    about 5 s on one core while the other would idle. A narrower run queues what it selected, after."""
    config = session.config
    option = config.option
    whole = config.args_source == pytest.Config.ArgsSource.TESTPATHS and not (
        option.keyword
        or option.markexpr
        or option.deselect
        or option.collectonly
        or getattr(option, "lf", False)
    )
    if whole:
        pool = session_pool(config)
        pool.queue(pool.configurations)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """No synth outlives the session, even one queued for tests that never ran (collection failed)."""
    if _POOL:
        _POOL[0].close()


@pytest.fixture(scope="session", autouse=True)
def _start_synths_early(request: pytest.FixtureRequest) -> None:
    """Start the shared synths (and the example repository's runs) with the session when a test needs them."""
    names = BACKGROUND_FIXTURES - {"model_build_repo_runs"}
    used = set().union(*(getattr(item, "fixturenames", ()) for item in request.session.items))
    jobs = {name: job for name, job in BACKGROUND_JOBS.items() if name in used}
    if names & used or jobs:
        pool: SynthPool = request.getfixturevalue("synth_pool")
        needed = _synths_needed(request.session.items)
        pool.queue(pool.configurations if needed is None else needed, jobs)
    if "model_build_repo_runs" in used:
        request.getfixturevalue("model_build_repo_runs").start()


@pytest.fixture(scope="session")
def example_synth(synth_pool: SynthPool) -> Synth:
    return synth_pool.get("example")


@pytest.fixture(scope="session")
def long_names_synth(synth_pool: SynthPool) -> Synth:
    return synth_pool.get("long")


@pytest.fixture(scope="session")
def approved_synth(synth_pool: SynthPool) -> Synth:
    return synth_pool.get("approved")


@pytest.fixture(scope="session")
def fifty_groups_synth(synth_pool: SynthPool) -> Synth:
    return synth_pool.get("fifty")


@pytest.fixture(scope="session")
def github_synth(synth_pool: SynthPool) -> Synth:
    return synth_pool.get("github")


@pytest.fixture(scope="session")
def three_accounts_synth(synth_pool: SynthPool) -> Synth:
    return synth_pool.get("manifest-three-accounts")


@pytest.fixture(scope="session")
def endpoint_synth(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """tests/endpoint_harness.py's endpoint stacks, synthesized in-process once for all who read them."""
    from tests.endpoint_harness import synthesize  # it imports this module: not at import time

    return synthesize(tmp_path_factory.mktemp("endpoint") / "cdk.out")


# --- custom resource handlers ----------------------------------------------------------------------------


class _Accepted:
    """What ``urlopen`` gives a handler once CloudFormation has taken its answer."""

    status = 200

    def __enter__(self) -> _Accepted:
        return self

    def __exit__(self, *args: object) -> None:
        return None


def record_cloudformation_answers(
    monkeypatch: pytest.MonkeyPatch, module: ModuleType
) -> list[dict[str, Any]]:
    """Each answer a custom resource handler PUTs to its pre-signed response URL, recorded instead of sent."""
    answers: list[dict[str, Any]] = []

    def urlopen(request: Any, timeout: float) -> _Accepted:
        assert request.get_method() == "PUT"
        answers.append(json.loads(request.data))
        return _Accepted()

    monkeypatch.setattr(module.urllib.request, "urlopen", urlopen)
    return answers


def offline_aws() -> Any:
    """moto for one test, keeping boto3's default session (and the service models it has loaded):
    re-reading them for every client was a third of each moto test's time."""
    return mock_aws(config={"core": {"reset_boto3_session": False}})


def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch, region: str) -> None:
    """Credentials moto accepts and no real AWS would, in ``region``: handlers under test never leave moto."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
    }.items():
        monkeypatch.setenv(name, value)
