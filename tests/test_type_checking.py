"""pyproject.toml's mypy settings: the aws-cdk-lib modules it skips are ones the code never imports."""

from __future__ import annotations

import ast
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_CHECKED = ("cdk.out", "node_modules", ".venv", "model-build-repo")


def imported_cdk_modules(source: str) -> Iterator[str]:
    """Each ``aws_cdk`` module an import statement names (``from aws_cdk import aws_iam`` names
    ``aws_cdk.aws_iam``: a submodule, where a class would be an attribute of ``aws_cdk``)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.split(".")[0] == "aws_cdk")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "aws_cdk":
            yield str(node.module)
            yield from (f"{node.module}.{alias.name}" for alias in node.names if alias.name.islower())


def python_files() -> Iterator[Path]:
    """The project's Python files, without descending into what mypy excludes (a venv has thousands)."""
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in NOT_CHECKED and not name.startswith(".")]
        yield from (Path(folder, name) for name in files if name.endswith(".py"))


def followed_modules() -> set[str]:
    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    return {m for o in overrides if o.get("follow_imports") == "normal" for m in o["module"]}


def test_every_cdk_module_the_code_imports_is_type_checked() -> None:
    followed = followed_modules()
    imported = {module for path in python_files() for module in imported_cdk_modules(path.read_text())}
    assert "aws_cdk.aws_iam" in imported
    assert imported - followed == set(), "add them to pyproject.toml's followed aws_cdk modules"


def test_a_new_cdk_import_would_be_found() -> None:
    source = "\n".join(
        (
            "import aws_cdk.aws_ec2",
            "from aws_cdk import Stack, aws_rds as rds",
            "from aws_cdk.aws_ecs import Cluster",
        )
    )
    assert set(imported_cdk_modules(source)) == {
        "aws_cdk.aws_ec2",
        "aws_cdk",
        "aws_cdk.aws_rds",
        "aws_cdk.aws_ecs",
    }
