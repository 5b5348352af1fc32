"""The infra pipeline's stage kinds, one module each, in the order a model travels through them."""

from pathlib import Path

from aws_cdk import aws_logs as logs

LOG_RETENTION = logs.RetentionDays.ONE_YEAR
"""How long every log group the module creates keeps its logs."""

FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"
"""The module's Lambda handlers, packaged as assets (or inlined) by the stacks that run them."""
