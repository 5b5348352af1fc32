"""The module's Lambda functions (blocks/lambda_functions.py): each with its own role that writes only its
own log group, and inline code within its budget."""

from __future__ import annotations

from pathlib import Path

import pytest

import blocks.lambda_functions
from blocks.lambda_functions import INLINE_CODE_LIMIT, inline_source
from tests.conftest import Synth
from tests.template_harness import actions


def test_each_function_writes_only_its_own_log_group(example_synth: Synth) -> None:
    functions = [
        (stack, resource["Properties"])
        for stack, _, resource in example_synth.resources("AWS::Lambda::Function")
        if resource["Properties"].get("Runtime") == "python3.14"
    ]
    assert len(functions) == 4  # each group's approval trigger and registry cleanup
    for stack, function in functions:
        resources = stack.template["Resources"]
        log_group = function["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[log_group]["Properties"]["RetentionInDays"] == 365
        role = function["Role"]["Fn::GetAtt"][0]
        assert "ManagedPolicyArns" not in resources[role]["Properties"]
        (write_logs,) = [
            statement
            for policy in resources.values()
            if policy["Type"] == "AWS::IAM::Policy" and {"Ref": role} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if any(action.startswith("logs:") for action in actions(statement))
        ]
        assert write_logs["Sid"] == "WriteOwnLogs"
        assert write_logs["Resource"] == {"Fn::GetAtt": [log_group, "Arn"]}


def test_inline_code_over_its_budget_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "index.py").write_text("#" * (INLINE_CODE_LIMIT + 1))
    monkeypatch.setattr(blocks.lambda_functions, "FUNCTIONS", tmp_path)
    with pytest.raises(ValueError, match=f"functions/big/index.py has {INLINE_CODE_LIMIT + 1} characters"):
        inline_source("big")
    (tmp_path / "big" / "index.py").write_text("#" * INLINE_CODE_LIMIT)
    assert inline_source("big") == "#" * INLINE_CODE_LIMIT
