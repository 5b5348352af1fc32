"""IAM policy evaluation: exactly the parts of AWS's evaluation logic the module's templates use.

Why a small evaluator of our own: no maintained Python package evaluates identity, resource, key and trust
policies together (principalmapper 1.1.5 does not import on Python 3.10+; policyuniverse and parliament
parse and lint policies but do not decide requests). Anything outside the supported subset (an unknown
condition operator, ``NotPrincipal``, a policy variable) raises :class:`UnsupportedPolicyError` rather than
being guessed, so a template change that needs more semantics fails loudly.

Semantics follow the IAM User Guide: "Policy evaluation logic", "Cross-account policy evaluation logic",
"IAM JSON policy elements: Condition operators" and the KMS Developer Guide's "Key policies in AWS KMS".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cache
from typing import Any

Document = Mapping[str, Any]
ContextValue = str | Sequence[str]


class UnsupportedPolicyError(ValueError):
    """A policy uses something this evaluator does not implement; extend it rather than guess."""


@dataclass(frozen=True)
class Request:
    """One API call as IAM sees it: who, what, on which ARN, with which request context."""

    principal: str
    """A role ARN (``arn:aws:iam::<account>:role/<path><name>``) or a service principal
    (``events.amazonaws.com``)."""
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    """Condition keys the calling service sends; key names are case-insensitive, as in IAM."""

    @property
    def is_service(self) -> bool:
        return not self.principal.startswith("arn:")

    @property
    def principal_account(self) -> str | None:
        return None if self.is_service else arn_account(self.principal)


@dataclass(frozen=True)
class Decision:
    """The outcome and the one-line reason for it, to read in a failed assertion."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


class PrincipalMatch(IntEnum):
    """How a resource policy statement names the caller."""

    NONE = 0
    ACCOUNT = 1
    """Through its account (``arn:...:root`` or the bare id): delegates to that account's IAM policies."""
    DIRECT = 2
    """By its own ARN, its service name or ``*``."""


def arn_account(arn: str) -> str:
    """The account field of an ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise UnsupportedPolicyError(f"not an ARN: {arn!r}")
    return parts[4]


# --- matching ------------------------------------------------------------------------------------------


@cache
def _glob(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character; nothing else is special."""
    if "${" in pattern:
        raise UnsupportedPolicyError(f"policy variables are not supported: {pattern!r}")
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """``value`` matches ``pattern`` whole, with IAM's two wildcards."""
    return _glob(pattern, ignore_case=ignore_case).fullmatch(value) is not None


def arn_match(pattern: str, arn: str) -> bool:
    """ArnLike/ArnEquals and the Resource element: each of the six colon-separated parts matched alone.

    The sixth part (the resource) keeps any further colons, as in ``log-group:name:log-stream:x``.
    """
    if pattern == "*":
        return True
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return False
    return all(glob_match(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


def _as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _action_match(statement: Document, action: str) -> bool:
    if "Action" in statement:
        return any(glob_match(p, action, ignore_case=True) for p in _as_list(statement["Action"]))
    if "NotAction" in statement:
        return not any(glob_match(p, action, ignore_case=True) for p in _as_list(statement["NotAction"]))
    raise UnsupportedPolicyError(f"statement without Action or NotAction: {statement}")


def _resource_match(statement: Document, resource: str, *, implicit: bool) -> bool:
    """``implicit``: resource policies whose resource is the one they are attached to (trust, ECR)."""
    if "Resource" in statement:
        return any(arn_match(p, resource) for p in _as_list(statement["Resource"]))
    if "NotResource" in statement:
        return not any(arn_match(p, resource) for p in _as_list(statement["NotResource"]))
    if implicit:
        return True
    raise UnsupportedPolicyError(f"identity statement without Resource or NotResource: {statement}")


def principal_match(statement: Document, request: Request) -> PrincipalMatch:
    """How ``statement`` names the caller; AWS principals by account or role ARN, services by name."""
    if "NotPrincipal" in statement:
        raise UnsupportedPolicyError("NotPrincipal is not supported")
    principal = statement.get("Principal")
    if principal is None:
        raise UnsupportedPolicyError(f"resource policy statement without Principal: {statement}")
    if principal == "*":
        return PrincipalMatch.DIRECT
    if not isinstance(principal, Mapping):
        raise UnsupportedPolicyError(f"unexpected Principal: {principal!r}")
    best = PrincipalMatch.NONE
    for kind, values in principal.items():
        for value in _as_list(values):
            best = max(best, _one_principal(kind, str(value), request))
    return best


def _one_principal(kind: str, value: str, request: Request) -> PrincipalMatch:
    if kind == "Service":
        named = request.is_service and value == request.principal
        return PrincipalMatch.DIRECT if named else PrincipalMatch.NONE
    if kind != "AWS":
        raise UnsupportedPolicyError(f"principal type {kind!r} is not supported")
    if value == "*":
        return PrincipalMatch.DIRECT
    if request.is_service:
        return PrincipalMatch.NONE
    if re.fullmatch(r"\d{12}", value) or re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:root", value):
        account = value if value.isdigit() else arn_account(value)
        return PrincipalMatch.ACCOUNT if account == request.principal_account else PrincipalMatch.NONE
    if ":role/" in value:
        return PrincipalMatch.DIRECT if value == request.principal else PrincipalMatch.NONE
    raise UnsupportedPolicyError(f"AWS principal {value!r} is not supported")


# --- conditions ----------------------------------------------------------------------------------------


def _string_equals(policy: str, value: str) -> bool:
    return policy == value


def _string_equals_ignore_case(policy: str, value: str) -> bool:
    return policy.lower() == value.lower()


def _string_like(policy: str, value: str) -> bool:
    return glob_match(policy, value)


def _bool(policy: str, value: str) -> bool:
    return policy.lower() == value.lower()


# Positive operators: the condition holds when the context value matches any of the policy's values.
_MATCHERS = {
    "StringEquals": _string_equals,
    "StringEqualsIgnoreCase": _string_equals_ignore_case,
    "StringLike": _string_like,
    "ArnEquals": arn_match,
    "ArnLike": arn_match,
    "Bool": _bool,
}
# Negated operators: true when the value matches none of them, and when the key is missing.
_NEGATED = {"StringNotEquals": _string_equals}


def _policy_values(raw: object) -> list[str]:
    values = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(raw)]
    for value in values:
        _glob(value)  # refuses policy variables, whichever value would have matched first
    return values


def condition_holds(operator: str, key: str, raw_values: object, context: Mapping[str, ContextValue]) -> bool:
    """One key under one operator, with AWS's rules for missing keys, IfExists and ForAnyValue."""
    values = _policy_values(raw_values)
    present = key.lower() in context
    found = context.get(key.lower())
    if operator == "Null":
        # Null true: the key must be absent; Null false: present.
        return (not present) if values == ["true"] else present
    any_value = operator.startswith("ForAnyValue:")
    base = operator.removeprefix("ForAnyValue:")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in _MATCHERS and base not in _NEGATED:
        raise UnsupportedPolicyError(f"condition operator {operator!r} is not supported")
    if not present:
        # Missing key: IfExists holds, a negated operator holds, anything else (ForAnyValue too) fails.
        return if_exists or (base in _NEGATED and not any_value)
    assert found is not None
    found_values = _as_list(found)
    if not any_value and len(found_values) != 1:
        raise UnsupportedPolicyError(f"{key} is multivalued; use a ForAnyValue operator for it")
    if base in _NEGATED:
        negated = _NEGATED[base]
        return not any(negated(p, str(v)) for p in values for v in found_values)
    positive = _MATCHERS[base]
    return any(positive(p, str(v)) for p in values for v in found_values)


def conditions_hold(
    block: Mapping[str, Mapping[str, object]] | None, context: Mapping[str, ContextValue]
) -> bool:
    """Every operator and every key in it must hold (AND); values within one key are alternatives (OR)."""
    if not block:
        return True
    lowered = {k.lower(): v for k, v in context.items()}
    return all(
        condition_holds(operator, key, values, lowered)
        for operator, keys in block.items()
        for key, values in keys.items()
    )


# --- statements and policies ---------------------------------------------------------------------------


def statements(document: Document) -> list[Document]:
    """A policy's statements; a single statement may stand without a list."""
    return _as_list(document.get("Statement", []))


def statement_matches(statement: Document, request: Request, *, implicit_resource: bool = False) -> bool:
    """Action, resource and conditions (not the principal) match ``request``."""
    return (
        _action_match(statement, request.action)
        and _resource_match(statement, request.resource, implicit=implicit_resource)
        and conditions_hold(statement.get("Condition"), request.context)
    )


@dataclass(frozen=True)
class Findings:
    """What one set of policies says about a request: an allowing and a denying statement, if any."""

    allow: str | None = None
    deny: str | None = None


def identity_findings(documents: Iterable[Document], request: Request) -> Findings:
    """Identity policies (and boundaries): no Principal element, every statement about the caller."""
    allow = deny = None
    for document in documents:
        for statement in statements(document):
            if statement_matches(statement, request):
                label = str(statement.get("Sid", "(no Sid)"))
                if statement["Effect"] == "Deny":
                    deny = deny or label
                else:
                    allow = allow or label
    return Findings(allow, deny)


def resource_findings(
    documents: Iterable[Document], request: Request
) -> tuple[PrincipalMatch, str | None, str | None]:
    """The best principal match among allowing statements, its Sid, and a denying statement's Sid."""
    best, allow, deny = PrincipalMatch.NONE, None, None
    for document in documents:
        for statement in statements(document):
            match = principal_match(statement, request)
            if match is PrincipalMatch.NONE:
                continue
            if not statement_matches(statement, request, implicit_resource=True):
                continue
            label = str(statement.get("Sid", "(no Sid)"))
            if statement["Effect"] == "Deny":
                deny = deny or label
            elif match > best:
                best, allow = match, label
    return best, allow, deny


@dataclass(frozen=True)
class Policies:
    """Every policy that applies to one request, as the world around it found them."""

    identity: Sequence[Document] = ()
    boundary: Document | None = None
    """The caller's permissions boundary, if it has one."""
    resource: Sequence[Document] = ()
    resource_account: str = ""
    resource_kind: str = ""
    """``kms`` and ``trust`` resources need their own policy's allow even within one account."""


def decide(request: Request, policies: Policies) -> Decision:  # noqa: PLR0911 (one return per rule)
    """AWS's decision: an explicit deny wins; then identity, boundary and resource policy combined.

    - A service principal has no identity policy: the resource policy must name it.
    - Across accounts both the caller's identity policy and the resource policy must allow.
    - Within an account either does, except for KMS keys and role trust policies, which must allow
      themselves (directly, or through a statement for the account that delegates to IAM, which then
      needs the identity allow too). A statement naming the account is such a delegation everywhere.
    - A permissions boundary, when the caller has one, must also allow.
    """
    identity = identity_findings(policies.identity, request)
    boundary = identity_findings([policies.boundary], request) if policies.boundary is not None else None
    match, resource_allow, resource_deny = resource_findings(policies.resource, request)
    for where, sid in (
        ("identity policy", identity.deny),
        ("permissions boundary", boundary.deny if boundary else None),
        ("resource policy", resource_deny),
    ):
        if sid:
            return Decision(False, f"explicit deny in the {where} ({sid})")

    if request.is_service:
        if match is PrincipalMatch.DIRECT:
            return Decision(True, f"resource policy allows the service ({resource_allow})")
        return Decision(False, "no resource policy statement allows the service")

    identity_ok = identity.allow is not None and (boundary is None or boundary.allow is not None)
    identity_why = (
        f"identity policy ({identity.allow})"
        if identity_ok
        else "no identity allow"
        if identity.allow is None
        else "the permissions boundary does not allow it"
    )
    resource_why = f"resource policy ({resource_allow})" if resource_allow else "no resource policy allow"
    cross_account = request.principal_account != policies.resource_account
    if cross_account or policies.resource_kind in {"kms", "trust"}:
        if match is PrincipalMatch.DIRECT and not cross_account:
            return Decision(True, f"{resource_why} names the caller")
        if match is not PrincipalMatch.NONE and identity_ok:
            return Decision(True, f"{identity_why} and {resource_why}")
        scope = "across accounts" if cross_account else f"a {policies.resource_kind} policy must allow"
        return Decision(False, f"{scope}: {identity_why}; {resource_why}")
    if identity_ok:
        return Decision(True, identity_why)
    if match is PrincipalMatch.DIRECT and (boundary is None or boundary.allow is not None):
        return Decision(True, f"{resource_why} names the caller")
    return Decision(False, f"{identity_why}; {resource_why}")
