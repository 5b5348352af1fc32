"""Shared building blocks of the stage stacks, none a stage itself.

Storage, governance, cdk-nag acknowledgments, the module's Lambda functions and the pipelines' common
parts; every stage kind in ``stages`` and the top stack use them.
"""

from aws_cdk import aws_logs as logs

LOG_RETENTION = logs.RetentionDays.ONE_YEAR
"""How long every log group the module creates keeps its logs."""
