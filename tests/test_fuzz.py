"""Malformed input, generated per field, held to the module's promise (issue #13 item 6).

Every case is a deliberate mistake of one kind — type, shape, size, encoding, duplicates, limits — in
one field of the README example. The settings loader must refuse it with a SettingsError whose lines
each name a field in the user's spelling (the one broken, or a parameter or object holding it), one
line per problem, short and printable, and never raise anything else. The approved-model parsing and
the approval trigger get the same treatment at their boundaries. The table is generated, not random,
so every run tries the same cases; all run in-process and take a few seconds.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import boto3
import pytest

from settings import (
    APPROVED_MODEL_INFO_LIMIT,
    GROUPS_FILE_SIZE_LIMIT,
    PARAMETER_SIZE_LIMIT,
    PROBLEMS_SHOWN,
    TAGS_LIMIT,
    SettingsError,
    load_settings,
    parse_approved_model,
)
from tests.conftest import manifest_parameters, seedfarmer_environment

# The approval trigger's moto set-up and event builders, shared with its own tests rather than copied.
from tests.lambda_harness import (  # noqa: F401 - the fixtures "aws" and "aws_env"
    INITIAL_VALUE,
    PARAMETER,
    SOURCE_HANDLER,
    FakeContext,
    fake_aws_environment,
    load_handler,
    model_package_event,
    moto_account,
    sns_event,
    sns_record,
)

BASE: dict[str, Any] = {p["name"]: p["value"] for p in manifest_parameters()}
STRUCTURED = ("infra-repo", "model-build-repo", "deployment-groups", "tags")
GROUP = "deployment-groups[1]"
BUILD = f"{GROUP}.buildEnvironment"
DEPLOY = f"{GROUP}.deployEnvironments[0]"
ENDPOINT = f"{DEPLOY}.endpoint"
MISSING = object()
"""A value that means: remove the key."""


class Case(NamedTuple):
    """One malformed input: the field it breaks (user's spelling) and the environment that carries it."""

    field: str
    environ: dict[str, str]
    expect: str = ""
    """Text the problem naming the field must contain, when the case is about one specific thing."""


def _steps(path: str) -> list[str | int]:
    """``deployment-groups[1].buildEnvironment.account`` -> parameter, then keys and indexes."""
    return [
        int(index) if index else (quoted or key)
        for index, quoted, key in re.findall(r"\[(\d+)\]|\['([^']*)'\]|([^.\[\]]+)", path)
    ]


def _with(path: str, value: object) -> dict[str, Any]:
    """The README example's parameters with ``path`` set to ``value`` (or removed, for MISSING)."""
    parameter, *steps = _steps(path)
    parameters = copy.deepcopy(BASE)
    parameters.setdefault("tags", {})
    if not steps:
        if value is MISSING:
            del parameters[str(parameter)]
        else:
            parameters[str(parameter)] = value
        return parameters
    target: Any = parameters[str(parameter)]
    for step in steps[:-1]:
        target = target[step] if isinstance(step, int) else target.setdefault(step, {})
    if value is MISSING:
        del target[steps[-1]]
    else:
        target[steps[-1]] = value
    return parameters


def environment(parameters: dict[str, Any], **variables: str) -> dict[str, str]:
    """What seedfarmer would export for ``parameters``, plus (or, with '', minus) ``variables``."""
    env = seedfarmer_environment([{"name": k, "value": v} for k, v in parameters.items()])
    for name, value in variables.items():
        if value == "":
            env.pop(name, None)
        else:
            env[name] = value
    return env


def raw(parameter: str, text: str) -> dict[str, str]:
    """The example with one structured parameter's variable holding ``text`` exactly."""
    env = environment(copy.deepcopy(BASE))
    env["SEEDFARMER_PARAMETER_" + parameter.replace("-", "_").upper()] = text
    return env


def field_case(path: str, value: object, expect: str = "") -> Case:
    return Case(path, environment(_with(path, value)), expect)


# --- what is wrong with a value, by the kind of field ---------------------------------------------------

WRONG_TYPES_FOR_STRING = [True, 12, 1.5, [], {"a": 1}]
WRONG_TYPES_FOR_COUNT = ["1", True, 1.5, [], {"a": 1}]
WRONG_TYPES_FOR_BOOL = ["true", "yes", 1, 0, 1.5, [], {"a": 1}]
WRONG_TYPES_FOR_OBJECT = ["x", 1, True, [], ["a"]]
WRONG_TYPES_FOR_LIST = ["x", 1, True, {"a": 1}]
# Shapes no field with an ASCII pattern (names, accounts, regions, ARNs, types) accepts.
BAD_ASCII_SHAPES = ["", " ", "a b", "tab\there", "new\nline", "\x00", "é", "😀", "\ud800", "x" * 300]
BAD_BRANCHES = ["", "a b", "a..b", "-x", "x.lock", "@", "a~b", "a/", "\x00", "\ud800", "x" * 300]
OUT_OF_RANGE = [-1, 10**6, 2**64]

SHAPED_STRINGS = [
    "infra-repo.host",
    "infra-repo.name",
    "infra-repo.path",
    "model-build-repo.host",
    "model-build-repo.name",
    f"{GROUP}.name",
    f"{BUILD}.name",
    f"{BUILD}.account",
    f"{BUILD}.region",
    f"{BUILD}.type",
    f"{DEPLOY}.name",
    f"{DEPLOY}.account",
    f"{DEPLOY}.type",
    f"{ENDPOINT}.instanceType",
    f"{ENDPOINT}.subnetIdsParameter",
    f"{ENDPOINT}.securityGroupIdParameter",
]
BRANCHES = ["infra-repo.branch", f"{GROUP}.sourceBranch"]
COUNTS = [
    f"{ENDPOINT}.initialInstanceCount",
    f"{ENDPOINT}.dataCapturePercentage",
    f"{ENDPOINT}.dataCaptureExpiryDays",
    f"{ENDPOINT}.smokeTestMaxLatencyMs",
    f"{ENDPOINT}.autoScaling.minCapacity",
    f"{ENDPOINT}.autoScaling.maxCapacity",
    f"{ENDPOINT}.autoScaling.targetInvocationsPerInstance",
]
BOOLS = [f"{DEPLOY}.requireApproval", f"{ENDPOINT}.vpc", f"{ENDPOINT}.networkIsolation"]
OBJECTS = ["infra-repo", "model-build-repo", GROUP, BUILD, DEPLOY, ENDPOINT, f"{ENDPOINT}.autoScaling"]
REQUIRED = [
    "infra-repo.host",
    "infra-repo.name",
    "model-build-repo.name",
    f"{GROUP}.name",
    f"{GROUP}.sourceBranch",
    f"{GROUP}.buildEnvironment",
    f"{BUILD}.account",
    f"{BUILD}.region",
    f"{BUILD}.type",
    f"{DEPLOY}.name",
    f"{DEPLOY}.account",
    f"{ENDPOINT}.autoScaling.maxCapacity",
]
# Optional fields take null as "not given"; every other field refuses it.
NULLABLE = {
    f"{ENDPOINT}.dataCaptureExpiryDays",
    f"{DEPLOY}.requireApproval",
    f"{ENDPOINT}.autoScaling",
    f"{ENDPOINT}.subnetIdsParameter",
    f"{ENDPOINT}.securityGroupIdParameter",
}
SCALING = {"minCapacity": 1, "maxCapacity": 2, "targetInvocationsPerInstance": 100}


def _settings_cases() -> Iterator[tuple[str, Case]]:
    scaling_base = _with(f"{ENDPOINT}.autoScaling", SCALING)

    def on(path: str, value: object, expect: str = "") -> Case:
        """``path`` set to ``value``; inside autoScaling the rest of it is present, so only that is wrong."""
        if ".autoScaling." in path:
            parameters = copy.deepcopy(scaling_base)
            key = path.rsplit(".", 1)[1]
            scaling = parameters["deployment-groups"][1]["deployEnvironments"][0]["endpoint"]["autoScaling"]
            if value is MISSING:
                del scaling[key]
            else:
                scaling[key] = value
            return Case(path, environment(parameters), expect)
        return field_case(path, value, expect)

    yield from _value_cases(on)
    yield from _structure_cases(on)
    yield from _yaml_pitfalls(on)
    yield from _tag_cases()
    yield from _duplicate_cases()
    yield from _size_cases()
    yield from _context_cases()


def _value_cases(on: Callable[..., Case]) -> Iterator[tuple[str, Case]]:
    """Each leaf field given a value of the wrong type, shape or range."""
    for path in SHAPED_STRINGS:
        for value in [*WRONG_TYPES_FOR_STRING, *BAD_ASCII_SHAPES]:
            yield f"shape:{path}={value!r:.20}", on(path, value)
    for path in BRANCHES:
        for value in [*WRONG_TYPES_FOR_STRING, *BAD_BRANCHES]:
            yield f"branch:{path}={value!r:.20}", on(path, value)
    for path in COUNTS:
        for value in [*WRONG_TYPES_FOR_COUNT, *OUT_OF_RANGE]:
            yield f"count:{path}={value!r:.20}", on(path, value)
    for path in BOOLS:
        for value in WRONG_TYPES_FOR_BOOL:
            yield f"bool:{path}={value!r:.20}", on(path, value)


def _structure_cases(on: Callable[..., Case]) -> Iterator[tuple[str, Case]]:
    """Objects and lists of the wrong type, unknown keys, nulls and missing required keys."""
    for path in OBJECTS:
        for value in WRONG_TYPES_FOR_OBJECT:
            yield f"object:{path}={value!r:.20}", on(path, value)
        yield f"unknown-key:{path}", on(f"{path}.colour", "blue", "unknown key")
    for path in ["deployment-groups", f"{GROUP}.deployEnvironments"]:
        for value in WRONG_TYPES_FOR_LIST:
            yield f"list:{path}={value!r:.20}", on(path, value)
        for items in [[1], [[]], ["x"]]:
            yield f"list:{path}={items!r:.20}", on(path, items)._replace(field=f"{path}[0]")
    yield "list:deployment-groups=[]", on("deployment-groups", [], "at least one")
    for path in dict.fromkeys([*REQUIRED, *SHAPED_STRINGS, *COUNTS, *BOOLS, *OBJECTS]):
        if path not in NULLABLE:
            yield f"null:{path}", on(path, None)
    for path in REQUIRED:
        yield f"missing:{path}", on(path, MISSING, "is required")


def _yaml_pitfalls(on: Callable[..., Case]) -> Iterator[tuple[str, Case]]:
    """What an unquoted YAML value becomes, and keys put in the wrong place."""
    yield "yaml:account-int", on(f"{BUILD}.account", 123456789015, "quote it ('123456789015')")
    yield "yaml:account-octal", on(f"{DEPLOY}.account", 0o12345670123, "as the octal number 1402433619")
    yield "yaml:tag-on", on("tags['team']", True, "quote it")
    yield "yaml:deploy-region", on(f"{DEPLOY}.region", "us-east-1", "belongs in buildEnvironment")
    yield "yaml:snake-key", on(f"{GROUP}.source_branch", "main", "camelCase ('sourceBranch')")


def _tag_cases() -> Iterator[tuple[str, Case]]:
    for key in ["", "aws:team", "AWS:team", "k" * 129, "a;b", "tab\tkey", "\ud800", "SeedFarmerModuleName"]:
        yield f"tag-key:{key!r:.20}", Case(f"tags[{key!r}]", environment(_with("tags", {key: "v"})))
    for value in ["", "v" * 257, "a;b", "new\nline", "\ud800", "😀"]:
        yield f"tag-value:{value!r:.20}", Case("tags['team']", environment(_with("tags", {"team": value})))
    for wrong in [None, 1, ["a"]]:
        yield f"tag-value-type:{wrong!r}", Case("tags['team']", environment(_with("tags", {"team": wrong})))
    too_many = {f"key-{i}": "v" for i in range(TAGS_LIMIT + 1)}
    yield "tags:too-many", Case("tags", environment(_with("tags", too_many)), f"{TAGS_LIMIT + 1} tags given")


def _duplicated(document: object, key: str) -> str:
    """JSON for ``document`` (an object) with ``key`` written twice: what json.dumps never produces."""
    assert isinstance(document, dict)
    text = json.dumps(document)
    return "{" + json.dumps(key) + ": " + json.dumps(document.get(key, "again")) + ", " + text[1:]


def _duplicate_cases() -> Iterator[tuple[str, Case]]:
    """A key given twice at each level of each structured parameter, and names given twice."""
    for parameter in ("infra-repo", "model-build-repo"):
        yield (
            f"dup:{parameter}",
            Case(parameter, raw(parameter, _duplicated(BASE[parameter], "name")), "'name'"),
        )
    yield "dup:tags", Case("tags", raw("tags", '{"team": "a", "team": "b"}'), "'team'")
    groups = copy.deepcopy(BASE["deployment-groups"])
    for where, key in [("group", "name"), ("buildEnvironment", "account"), ("endpoint", "vpc")]:
        sentinel = "__DUPLICATE__"
        document = copy.deepcopy(groups)
        target = {"group": document[1], "buildEnvironment": document[1]["buildEnvironment"]}.get(where)
        if where == "endpoint":
            document[1]["deployEnvironments"][0]["endpoint"] = sentinel
            text = json.dumps(document).replace(json.dumps(sentinel), _duplicated({"vpc": False}, "vpc"))
        else:
            assert isinstance(target, dict)
            replacement = _duplicated(target, key)
            if where == "group":
                document[1] = sentinel
            else:
                document[1]["buildEnvironment"] = sentinel
            text = json.dumps(document).replace(json.dumps(sentinel), replacement)
        yield f"dup:groups-{where}", Case("deployment-groups", raw("deployment-groups", text), repr(key))
    twice = copy.deepcopy(groups)
    twice[0]["name"] = twice[1]["name"].upper()
    yield (
        "dup:group-names",
        Case("deployment-groups", environment(_with("deployment-groups", twice)), "unique"),
    )
    envs = copy.deepcopy(groups)
    envs[1]["deployEnvironments"][0]["name"] = envs[1]["buildEnvironment"]["name"]
    yield "dup:env-names", Case(GROUP, environment(_with("deployment-groups", envs)), "unique")


def _size_cases() -> Iterator[tuple[str, Case]]:
    """Past the size cap, nested past the parser, and numbers JSON cannot hold."""
    for parameter in STRUCTURED:
        yield f"size:{parameter}", Case(parameter, raw(parameter, '"' + "x" * PARAMETER_SIZE_LIMIT + '"'))
        # Within the size cap: these reach the parser, past Python's recursion limit.
        yield (
            f"deep:{parameter}",
            Case(parameter, raw(parameter, "[" * 30_000 + "]" * 30_000), "nested too deeply"),
        )
        yield (
            f"deep-open:{parameter}",
            Case(parameter, raw(parameter, "{" + '"a":{' * 13_000), "nested too deeply"),
        )
        yield (
            f"not-json:{parameter}",
            Case(parameter, raw(parameter, "{'single': 'quotes'}"), "not valid JSON"),
        )
        yield f"empty:{parameter}", Case(parameter, raw(parameter, ""), "not valid JSON")
        undecodable = f"{parameter}[{chr(0xDCFF)!r}]"
        yield f"surrogate-bytes:{parameter}", Case(undecodable, raw(parameter, '{"\udcff": "v"}'), "Unicode")
    yield "nan", Case(f"{ENDPOINT}.initialInstanceCount", raw("deployment-groups", _nan_groups()))
    yield "huge-int", Case(f"{ENDPOINT}.initialInstanceCount", raw("deployment-groups", _huge_int_groups()))


def _nan_groups() -> str:
    return json.dumps(_with(f"{ENDPOINT}.initialInstanceCount", float("nan"))["deployment-groups"])


def _huge_int_groups() -> str:
    text = json.dumps(_with(f"{ENDPOINT}.initialInstanceCount", 7)["deployment-groups"])
    return text.replace('"initialInstanceCount": 7', '"initialInstanceCount": ' + "9" * 4000)


def _context_cases() -> Iterator[tuple[str, Case]]:
    """Seedfarmer's and CDK's variables: missing, malformed, or making a stack name CloudFormation refuses."""
    base = copy.deepcopy(BASE)
    for variable in [
        "SEEDFARMER_PROJECT_NAME",
        "SEEDFARMER_DEPLOYMENT_NAME",
        "SEEDFARMER_MODULE_NAME",
        "CDK_DEFAULT_ACCOUNT",
        "CDK_DEFAULT_REGION",
    ]:
        yield (
            f"context-missing:{variable}",
            Case(variable, environment(base, **{variable: ""}), "is required"),
        )
        for value in [" ", "a b", "\x00", "é", "\udcff", "-x", "x" * 300]:
            yield f"context:{variable}={value!r:.12}", Case(variable, environment(base, **{variable: value}))
    for value in ["", "/etc/passwd", "../groups.yaml", "a b.yaml", "\udcff.yaml"]:
        env = environment({k: v for k, v in base.items() if k != "deployment-groups"})
        env["SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS_FILE"] = value
        yield f"groups-file:{value!r:.12}", Case("deployment-groups-file", env)
    for value in ["", "a b", "arn:aws:s3:::", "\udcff", "x" * 300]:
        env = environment(base)
        env["SEEDFARMER_PARAMETER_S3_ACCESS_LOGS_BUCKET_ARN"] = value
        yield f"logs-bucket:{value!r:.12}", Case("s3-access-logs-bucket-arn", env)
        env = environment(base)
        env["SEEDFARMER_PARAMETER_PERMISSIONS_BOUNDARY_NAME"] = value
        yield f"boundary:{value!r:.12}", Case("permissions-boundary-name", env)
    env = environment(base)
    env["SEEDFARMER_PARAMETER_DEPLOYMENT_GROUP"] = "[]"
    yield "unknown-parameter", Case("deployment-group", env, "unknown parameter")
    many = environment(_with("deployment-groups", [1] * 20_000))
    yield "many-problems", Case("deployment-groups[0]", many, "must be an object")
    long_name = environment(base, SEEDFARMER_MODULE_NAME="m" * 118)
    yield (
        "stack-name",
        Case("SEEDFARMER_PROJECT_NAME, SEEDFARMER_DEPLOYMENT_NAME, SEEDFARMER_MODULE_NAME", long_name),
    )
    support = environment(_with(f"{BUILD}.region", "eu-west-1"), SEEDFARMER_MODULE_NAME="m" * 117)
    yield (
        "support-stack-name",
        Case(
            "SEEDFARMER_PROJECT_NAME, SEEDFARMER_DEPLOYMENT_NAME, SEEDFARMER_MODULE_NAME",
            support,
            "-support-eu-west-1",
        ),
    )


SETTINGS_CASES = dict(_settings_cases())


MORE = re.compile(r"\d+ more problems not shown: fix those above first")


def _ancestors(field: str) -> set[str]:
    """``a[1].b.c`` -> {a[1].b.c, a[1].b, a[1], a}: a problem may name the field or what holds it."""
    labels = {field}
    while True:
        shorter = re.sub(r"(\.[^.\[\]]+|\[[^\]]*\])$", "", field)
        if shorter == field:
            return labels
        labels.add(shorter)
        field = shorter


def _label(problem: str) -> str:
    """The field a problem line names: what comes before its first ': ' outside a quoted tag key."""
    match = re.match(r"((?:[^:'\[]|\[[^\]]*\]|'[^']*')+?): ", problem)
    assert match, problem
    return match.group(1)


def test_the_fuzz_table_is_large_and_the_same_every_run() -> None:
    assert len(SETTINGS_CASES) > 400
    assert len(SETTINGS_CASES) == len(list(_settings_cases()))


@pytest.mark.parametrize("name", list(SETTINGS_CASES))
def test_every_malformed_input_is_one_clear_line_per_problem(name: str) -> None:
    case = SETTINGS_CASES[name]
    with pytest.raises(SettingsError) as caught:
        load_settings(case.environ, module_folder=Path(__file__).parent)
    problems = caught.value.problems
    assert problems, "a settings error lists its problems"
    assert len(problems) <= PROBLEMS_SHOWN
    if MORE.fullmatch(problems[-1]):
        problems = problems[:-1]
    for problem in problems:
        assert "\n" not in problem, problem
        assert "\r" not in problem, problem
        assert "Traceback" not in problem
        assert len(problem) < 700, f"{len(problem)} characters: the value is not cut short"
        problem.encode("utf-8")  # printable: undecodable input is shown escaped, never raw
        label = _label(problem)
        outside_brackets = re.sub(r"\[[^\]]*\]", "", label)
        if "_" not in case.field:  # else the user wrote a snake_case key, and it is shown as written
            assert not re.search(r"[a-z]_[a-z]", outside_brackets), f"not the user's spelling: {label}"
    named = [p for p in problems if _label(p) in _ancestors(case.field)]
    assert named, f"no problem names {case.field} or what holds it: {problems}"
    if case.expect:
        assert any(case.expect in p for p in named), f"{case.expect!r} not in {named}"


GROUP_YAML = """\
- name: g
  sourceBranch: main
  buildEnvironment: {name: b, account: '123456789012', region: us-east-1, type: dev}
"""
_TEN = ", ".join
BOMB = (  # each anchor ten times the one before: 10,000 values from a few lines, if aliases were expanded
    GROUP_YAML
    + f"  deployEnvironments: [[&a [{_TEN(['x'] * 10)}], "
    + ", ".join(f"&{b} [{_TEN([f'*{a}'] * 10)}]" for a, b in zip("abc", "bcd", strict=True))
    + f"]]\n- name: h\n  sourceBranch: main\n  deployEnvironments: [{_TEN(['*d'] * 10)}]\n"
)
GROUPS_FILES: dict[str, tuple[bytes, str]] = {
    "duplicate-key": ((GROUP_YAML + "  sourceBranch: dev\n").encode(), "key 'sourceBranch' given twice"),
    "octal-account": (GROUP_YAML.replace("'123456789012'", "012345670123").encode(), "octal number"),
    "tab-indent": (GROUP_YAML.replace("  sourceBranch", "\tsourceBranch").encode(), "not valid YAML"),
    "not-utf8": (GROUP_YAML.encode() + b"# \xff\xfe\n", "cannot be read"),
    "too-large": (b"#" * (GROUPS_FILE_SIZE_LIMIT + 1), "at most 1,048,576 are read"),
    "alias-bomb": (BOMB.encode(), "must be an object"),
    "cycle": (b"- &g\n  name: g\n  deployEnvironments: [*g]\n", "is required"),
    "mapping": (b"groups: []\n", "must be a list"),
    "empty": (b"", "must be a list"),
    "tagged": (b"- !!python/object:os.system {}\n", "not valid YAML"),
    "deep": (b"[" * 1200 + b"]" * 1200, "nested too deeply"),  # past Python's recursion limit
}


@pytest.mark.parametrize("name", list(GROUPS_FILES))
def test_every_malformed_groups_file_is_one_clear_line_per_problem(tmp_path: Path, name: str) -> None:
    content, expect = GROUPS_FILES[name]
    (tmp_path / "groups.yaml").write_bytes(content)
    env = environment({k: v for k, v in BASE.items() if k != "deployment-groups"})
    env["SEEDFARMER_PARAMETER_DEPLOYMENT_GROUPS_FILE"] = "groups.yaml"
    with pytest.raises(SettingsError) as caught:
        load_settings(env, module_folder=tmp_path)
    problems = caught.value.problems
    assert 0 < len(problems) <= PROBLEMS_SHOWN
    for problem in problems if not MORE.fullmatch(problems[-1]) else problems[:-1]:
        assert problem.startswith("deployment-groups-file groups.yaml"), problem
        assert "\n" not in problem
        assert len(problem) < 700
    assert expect in problems[0]


# --- APPROVED_MODEL_INFO, as the deploy pipeline's synth reads it ---------------------------------------

PACKAGE = "arn:aws:sagemaker:us-east-1:123456789015:model-package/mlops-demo-prod-models/3"
GOOD_INFO = {
    "modelPackageArn": PACKAGE,
    "modelDataUrl": "s3://bucket/models/model.tar.gz",
    "imageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
}


def _approved_model_cases() -> Iterator[tuple[str, str]]:
    def info(**changes: object) -> str:
        document = {**GOOD_INFO, **changes}
        return json.dumps({k: v for k, v in document.items() if v is not MISSING})

    for key in GOOD_INFO:
        yield f"missing:{key}", info(**{key: MISSING})
        wrong: list[object] = [None, 1, True, [], {}, "", " ", "\x00", "\ud800", "x" * 5000]
        for value in wrong:
            yield f"{key}={value!r:.12}", info(**{key: value})
    yield "extra-key", info(colour="blue")
    yield "duplicate-key", '{"modelPackageArn": "a", ' + info()[1:]
    for text in ["{", "[]", '"x"', "null", "1", "{'a': 1}", "[" * 100_000, '{"a":' * 50_000]:
        yield f"json:{text[:10]!r}", text
    for text in ["!!!", "e30", base64.b64encode(b"\xff\xfe").decode(), base64.b64encode(b"[]").decode()]:
        yield f"base64:{text[:10]!r}", text
    yield "too-long", "x" * (APPROVED_MODEL_INFO_LIMIT + 1)
    yield "base64-of-deep", base64.b64encode(b"[" * 3000).decode()
    for arn in [
        "arn:aws:sagemaker:us-east-1:123456789015:model-package/group",
        "arn:aws:sagemaker:us-east-1:123456789015:model-package-group/group",
        "arn:aws:s3:::bucket",
        PACKAGE + "/extra",
    ]:
        yield f"arn:{arn[-20:]}", info(modelPackageArn=arn)
    for url in ["http://bucket/model.tar.gz", "s3://", "s3:///key", "/local/model.tar.gz"]:
        yield f"url:{url}", info(modelDataUrl=url)


APPROVED_MODEL_CASES = dict(_approved_model_cases())


@pytest.mark.parametrize("name", list(APPROVED_MODEL_CASES))
def test_every_malformed_approved_model_is_one_line_naming_the_variable(name: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_approved_model(APPROVED_MODEL_CASES[name])
    (problem,) = caught.value.problems
    assert problem.startswith("APPROVED_MODEL_INFO: ")
    assert "\n" not in problem
    assert len(problem) < 700
    problem.encode("utf-8")


# --- the approval trigger: malformed events never raise, and each one's reason is logged ----------------


def _event_with(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    """An approval of the trigger's own group with the field at ``path`` (below the event) replaced."""
    event = model_package_event()
    parent: Any = event
    for step in path[:-1]:
        parent = parent[step]
    if value is MISSING:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return event


def _trigger_cases() -> Iterator[tuple[str, object]]:
    events: list[object] = [None, 1, "x", [], {}, {"Records": None}, {"Records": {}}, {"Records": "x"}]
    for event in events:
        yield f"event:{event!r:.15}", event
    records: list[object] = [None, 1, "x", [], {}, {"EventSource": "aws:sqs"}, {"EventSource": "aws:sns"}]
    for record in records:
        yield f"record:{record!r:.15}", {"Records": [record]}
    for sns in [None, 1, {}, {"Message": None}, {"Message": 1}, {"Message": {"a": 1}}]:
        yield f"sns:{sns!r:.15}", {"Records": [{**sns_record("x"), "Sns": sns}]}
    for message in ["", "{", "[]", "null", '"x"', "[" * 100_000, '{"a":' * 50_000, "x" * (256 * 1024 + 1)]:
        yield f"message:{message[:10]!r}", sns_event(message)
    detail_paths: list[tuple[str | int, ...]] = [
        ("detail",),
        ("source",),
        ("detail-type",),
        ("detail", "ModelPackageGroupName"),
        ("detail", "ModelApprovalStatus"),
        ("detail", "ModelPackageArn"),
        ("detail", "InferenceSpecification"),
        ("detail", "InferenceSpecification", "Containers"),
        ("detail", "InferenceSpecification", "Containers", 0),
        ("detail", "InferenceSpecification", "Containers", 0, "Image"),
        ("detail", "InferenceSpecification", "Containers", 0, "ModelDataUrl"),
    ]
    for path in detail_paths:
        for value in [MISSING, None, 1, True, "", [], {}, "x" * 300_000]:
            yield (
                f"field:{'.'.join(map(str, path))}={value if value is MISSING else repr(value)[:10]}",
                sns_event(_event_with(path, value)),
            )
    for arn in [
        "arn:aws:sagemaker:us-east-1:999999999999:model-package/demo-model-group/3",
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package/demo-model-group/3",
        "arn:aws-cn:sagemaker:us-east-1:123456789012:model-package/demo-model-group/3",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/other-group/3",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/demo-model-group/0",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/demo-model-group/3/x",
    ]:
        yield f"arn:{arn[:40]}", sns_event(_event_with(("detail", "ModelPackageArn"), arn))
    rejected_last = json.dumps(model_package_event()).replace(
        '"ModelApprovalStatus": "Approved"',
        '"ModelApprovalStatus": "Approved", "ModelApprovalStatus": "Rejected"',
    )
    yield "duplicate-status", sns_event(rejected_last)
    two_containers = _event_with(("detail", "InferenceSpecification", "Containers"), [{"Image": "a"}] * 2)
    yield "two-containers", sns_event(two_containers)
    huge_image = _event_with(("detail", "InferenceSpecification", "Containers", 0, "Image"), "i" * 2000)
    yield "record-too-large", sns_event(huge_image)


TRIGGER_CASES = dict(_trigger_cases())


@pytest.fixture(scope="module")
def trigger() -> ModuleType:
    return load_handler(SOURCE_HANDLER)


@pytest.mark.usefixtures("aws")
def test_every_malformed_event_is_logged_and_never_raises(
    trigger: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    """One moto set-up for all cases (they never write): the failures are collected, then shown together."""
    failures = []
    for name, event in TRIGGER_CASES.items():
        caplog.clear()
        with caplog.at_level(logging.INFO):
            try:
                result = trigger.handler(event, FakeContext())
            except Exception as error:  # the point is that nothing escapes
                failures.append(f"{name}: raised {type(error).__name__}")
                continue
        reasons = [
            json.loads(r.getMessage()).get("reason") for r in caplog.records if r.name == trigger.__name__
        ]
        if result["started"] or result["duplicates"]:
            failures.append(f"{name}: deployed {result}")
        elif not any(reasons):
            failures.append(f"{name}: no reason logged")
        elif any(len(r.getMessage()) > 2000 for r in caplog.records):
            failures.append(f"{name}: a log line of the event's size")
    assert boto3.client("ssm").get_parameter(Name=PARAMETER)["Parameter"]["Value"] == INITIAL_VALUE
    assert not failures, "\n".join(failures)
    assert len(TRIGGER_CASES) > 100
