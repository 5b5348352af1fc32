"""The infra pipeline's stage kinds, one module each, in the order a model travels through them."""

from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"
"""The module's Lambda handlers, packaged as assets by the stacks that run them."""
