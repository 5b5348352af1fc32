"""Assertions the access proofs share: a request allowed or denied, with the evaluator's reason."""

from __future__ import annotations

from access_proof.policy import Request
from access_proof.world import World
from tests.conftest import Synth


def stack_name(synth: Synth, suffix: str) -> str:
    return synth.stack(suffix).stack_name


def allowed(world: World, request: Request) -> None:
    decision = world.evaluate(request)
    assert decision.allowed, (
        f"denied: {request.principal} {request.action} {request.resource}: {decision.reason}"
    )


def denied(world: World, request: Request) -> None:
    decision = world.evaluate(request)
    assert not decision.allowed, (
        f"allowed: {request.principal} {request.action} {request.resource}: {decision.reason}"
    )
