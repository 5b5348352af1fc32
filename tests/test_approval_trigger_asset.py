"""The approval trigger's tests again, against the copy Lambda runs: the asset the synth packaged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Synth
from tests.test_approval_trigger import *  # noqa: F403  (the same tests, collected here too)


@pytest.fixture(name="handler_path")
def packaged_handler_path(approved_synth: Synth) -> Path:
    stack = approved_synth.stack("prod-deployment-group/ModelDeploy")
    assert stack.assets_file is not None
    files: dict[str, dict[str, dict[str, str]]] = json.loads(stack.assets_file.read_text())["files"]
    candidates = [stack.assets_file.parent / asset["source"]["path"] / "index.py" for asset in files.values()]
    handlers = [p for p in candidates if p.is_file() and "DEPLOY_PIPELINE_NAME" in p.read_text()]
    assert len(handlers) == 1, handlers
    return handlers[0]
