"""Problems in the user's spelling: one line each, naming the parameter and the path inside it.

pydantic's errors are reworded here, e.g. ``deployment-groups[1].buildEnvironment.account: must be 12
digits, got '12345'``; an unknown key says where it belongs or what was meant.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from settings.models import (
    AutoScalingSettings,
    BuildEnvironmentSettings,
    DeployEnvironmentSettings,
    DeploymentGroupSettings,
    EndpointSettings,
    ModuleParameters,
)
from settings.notifications import NotificationSettings
from settings.repositories import InfraRepositorySettings
from settings.rollout import AlarmSettings, RolloutSettings, ServerlessSettings
from settings.variables import MAP_PARAMETERS, parameter_name

PROBLEMS_SHOWN = 25
"""Lines of problems reported at most: a list of thousands of bad items says so in one line."""


class SettingsError(Exception):
    """Bad input: one human-readable line per problem, no traceback wanted."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


_ECHO_LIMIT = 60


def location(
    prefix: str, loc: tuple[int | str, ...], *, keyed: bool = False, field_names: bool = True
) -> str:
    """``prefix`` and the path inside it, as the manifest spells it: ``[1].buildEnvironment.account``."""
    path = prefix
    for index, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        elif (keyed and index == 0) or not part.isprintable():
            path += f"[{part!r}]"  # a user's map key, or one that would not print as it is
        elif part:
            # Defaults validated in place are located by field name; the user wrote camelCase. An
            # unknown key is shown exactly as written.
            key = to_camel(part) if field_names and "_" in part and path else part
            path += f".{key}" if path else key
    return path


def echo_value(given: object) -> str:
    """Show the offending value on one line, cut short when long."""
    text = repr(given)
    if isinstance(given, str) and len(given) > _ECHO_LIMIT:
        text = f"{given[:_ECHO_LIMIT]!r}... ({len(given)} characters)"
    elif len(text) > _ECHO_LIMIT:  # a number of thousands of digits
        text = f"{text[:_ECHO_LIMIT]}... ({len(text)} characters)"
    return text


# pydantic's wording for the types of error a manifest can produce, in the manifest's terms.
PLAIN: dict[str, str] = {
    "string_type": "must be a string (in quotes)",
    "string_unicode": "must be valid Unicode text (it holds a lone surrogate, as undecodable bytes become)",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "dict_type": "must be an object ({...})",
    "model_type": "must be an object ({...})",
    "model_attributes_type": "must be an object ({...})",
    "tuple_type": "must be a list ([...])",
    "list_type": "must be a list ([...])",
}


@functools.cache
def _places_of_keys() -> dict[str, list[str]]:
    """Every key the input takes, with the places it belongs, as the README's tables name them."""
    places: dict[str, list[str]] = {}
    models: list[tuple[type[BaseModel], str]] = [
        (ModuleParameters, "the module's parameters"),
        (InfraRepositorySettings, "infra-repo"),
        (DeploymentGroupSettings, "a deployment group"),
        (BuildEnvironmentSettings, "buildEnvironment"),
        (DeployEnvironmentSettings, "deployEnvironments[i]"),
        (EndpointSettings, "endpoint"),
        (AutoScalingSettings, "endpoint.autoScaling"),
        (RolloutSettings, "endpoint.rollout"),
        (AlarmSettings, "endpoint.alarms"),
        (ServerlessSettings, "endpoint.serverless"),
        (NotificationSettings, "notifications"),
    ]
    for model, place in models:
        for field, info in model.model_fields.items():
            key = parameter_name(field) if model is ModuleParameters else info.alias or to_camel(field)
            places.setdefault(key, []).append(place)
    return places


# Why a key that belongs elsewhere is not taken here, where the reason is not obvious.
_WHY_ELSEWHERE = {
    "region": "deploy environments serve from their group's build region",
    "branch": "the model-build repository's branches are the groups' sourceBranch",
}


def _unknown_key(key: object) -> str:
    """An unknown key: a key of another place says where it belongs, a near miss says what was meant."""
    places = _places_of_keys()
    if isinstance(key, str) and key in places:
        why = f"; {_WHY_ELSEWHERE[key]}" if key in _WHY_ELSEWHERE else ""
        return f"not a key here: it belongs in {' or '.join(places[key])}{why}"
    if isinstance(key, str):
        camel = to_camel(key.replace("-", "_"))
        if camel != key and camel in places:
            return f"unknown key: keys inside values are camelCase ({camel!r})"
    return "unknown key (check its spelling)"


def _unquoted(given: object, field: object) -> str | None:
    """What YAML made of a value that should have been quoted, e.g. an account read as an (octal) number."""
    if isinstance(given, bool):
        return (
            f"must be a string: quote it; YAML read it as {str(given).lower()} "
            "(unquoted yes, no, on, off, true and false are booleans to YAML)"
        )
    if field != "account" or not isinstance(given, int | float):
        return None
    quote = "must be a string of 12 digits: quote it"
    if isinstance(given, int) and given >= 0 and len(str(given)) == 12:
        return f"{quote} ('{given}'); YAML read it as the number {given}"
    if isinstance(given, int) and given >= 0 and len(f"0{given:o}") == 12:
        return f"{quote} ('0{given:o}'); YAML read an unquoted 0{given:o} as the octal number {given}"
    return f"{quote}; YAML read it as the number {given!r}"


def _describe(error: Mapping[str, Any], *, echo: bool = True) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    loc = tuple(error.get("loc") or ())
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return _unknown_key(loc[-1] if loc else None)
    if kind == "string_type":
        unquoted = _unquoted(error.get("input"), loc[-1] if loc else None)
        if unquoted:
            return unquoted
    if kind in PLAIN:
        message = PLAIN[kind]
    elif kind == "too_short" and ctx.get("min_length") == 1:
        message = "must not be empty"
    elif kind == "greater_than_equal":
        message = f"must be at least {ctx['ge']}"
    elif kind == "less_than_equal":
        message = f"must be at most {ctx['le']}"
    elif kind == "string_too_long":
        message = f"must be at most {ctx['max_length']} characters"
    else:
        message = str(error["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")
    given = error.get("input")
    if echo and isinstance(given, str | int | float | bool) and given != "":
        message += f", got {echo_value(given)}"
    return message


def validation_problems(
    error: ValidationError,
    name_of: Callable[[str], str],
    missing_hint: Callable[[str], str],
    skip: frozenset[str],
) -> list[str]:
    """One line per pydantic error, labelled by ``name_of`` the top field and located inside it."""
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        if not loc:
            problems.append(_describe(item))
            continue
        head, rest = str(loc[0]), loc[1:]
        if head in skip:
            continue  # already reported, e.g. as invalid JSON
        description = _describe(item)
        if rest and rest[-1] == "[key]":  # a map's key, shown in the label already
            rest, description = rest[:-1], f"key {_describe(item, echo=False)}"
        label = location(
            name_of(head),
            rest,
            keyed=head in MAP_PARAMETERS,
            field_names=item["type"] != "extra_forbidden",
        )
        line = f"{label}: {description}"
        if item["type"] == "missing" and not rest:
            line += f" ({missing_hint(head)})"
        problems.append(line)
    return problems
