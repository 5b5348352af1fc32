"""Reading seedfarmer's variables: exactly those :func:`carried_environment` carries, JSON decoded once.

The infra pipeline re-synthesizes this module without seedfarmer; its synth step carries the same
variables, so settings are read the same way everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from settings.errors import PLAIN, echo_value, location
from settings.module_inputs import ModuleParameters, SeedFarmerContext, ToolingEnvironment
from settings.variables import (
    CDK_PREFIX,
    MAP_PARAMETERS,
    PARAMETER_PREFIX,
    SEEDFARMER_PREFIX,
    STRUCTURED_PARAMETERS,
    parameter_name,
    parameter_of,
    variable,
)

PARAMETER_SIZE_LIMIT = 65_536
"""Characters per parameter value: far above any real manifest (seedfarmer stores at most 8 KB of them)."""


def unknown_parameters(environ: Mapping[str, str]) -> list[str]:
    """A ``SEEDFARMER_PARAMETER_*`` no field reads: a misspelt parameter never passes silently."""
    known = {variable(PARAMETER_PREFIX, field) for field in ModuleParameters.model_fields}
    return [
        f"{parameter_of(name)}: unknown parameter "
        f"({name}); known: {', '.join(parameter_name(f) for f in ModuleParameters.model_fields)}"
        for name in sorted(environ)
        if name.startswith(PARAMETER_PREFIX) and name not in known
    ]


def parameter_values(environ: Mapping[str, str]) -> tuple[dict[str, Any], list[str], frozenset[str]]:
    """Read the parameters present, JSON-decoding structured ones.

    Returns the values, one problem per value that is not JSON, and those values' fields.
    """
    values: dict[str, Any] = {}
    problems = []
    unparsable = set()
    for field in ModuleParameters.model_fields:
        name = variable(PARAMETER_PREFIX, field)
        if name not in environ:
            continue
        if field not in STRUCTURED_PARAMETERS:
            values[field] = environ[name]
            continue
        text = environ[name]
        try:
            if len(text) > PARAMETER_SIZE_LIMIT:
                raise ValueError(f"{len(text)} characters, at most {PARAMETER_SIZE_LIMIT} are read")
            values[field] = json.loads(text, object_pairs_hook=unique_keys)
        except (ValueError, RecursionError, MemoryError) as error:
            reason = "nested too deeply" if isinstance(error, RecursionError) else str(error) or "too large"
            problems.append(f"{parameter_name(field)}: is not valid JSON ({name}): {reason}")
            unparsable.add(field)
            continue
        if (undecodable := _lone_surrogate(values[field])) is not None:
            loc, given = undecodable
            label = location(parameter_name(field), loc, keyed=field in MAP_PARAMETERS, field_names=False)
            problems.append(f"{label}: {PLAIN['string_unicode']}, got {echo_value(given)}")
            unparsable.add(field)
    return values, problems, frozenset(unparsable)


def _lone_surrogate(document: object) -> tuple[tuple[int | str, ...], str] | None:
    """Where a decoded JSON value holds text UTF-8 cannot encode, and that text; None if nowhere.

    A JSON escape of half a surrogate pair, or bytes of the environment that were not UTF-8, give such
    text; pydantic would show it as a replacement character, so it is found first and shown escaped.
    Iterative: the value may be deep.
    """
    stack: list[tuple[tuple[int | str, ...], object]] = [((), document)]
    while stack:
        loc, value = stack.pop()
        items: list[tuple[int | str, object]] = []
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return loc, value
        elif isinstance(value, dict):
            for key, item in value.items():
                try:
                    key.encode("utf-8")
                except UnicodeEncodeError:
                    return (*loc, key), key
                items.append((key, item))
        elif isinstance(value, list):
            items = list(enumerate(value))
        stack.extend(((*loc, key), item) for key, item in reversed(items))
    return None


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different: with a repeated key, which value counts is a guess."""
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"duplicate key {key!r}")
        document[key] = value
    return document


def prefixed(environ: Mapping[str, str], prefix: str, model: type[BaseModel]) -> dict[str, str]:
    """Read the model's fields from ``<prefix><FIELD>``, exactly as :func:`carried_environment` does."""
    return {
        field: environ[variable(prefix, field)]
        for field in model.model_fields
        if variable(prefix, field) in environ
    }


def carried_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Pick the variables the pipelines' synth steps carry to re-synthesize exactly as seedfarmer did."""
    return {
        name: value
        for name, value in sorted(environ.items())
        if name.startswith(PARAMETER_PREFIX)
        or name in {variable(SEEDFARMER_PREFIX, f) for f in SeedFarmerContext.model_fields}
        or name in {variable(CDK_PREFIX, f) for f in ToolingEnvironment.model_fields}
    }


def missing_parameter_hint(field: str) -> str:
    """How to give a required parameter that is missing."""
    hint = f"add it to the module's parameters, passed as {variable(PARAMETER_PREFIX, field)}"
    if field == "deployment_groups":
        hint += ", or name a file holding the list with deployment-groups-file"
    return hint
