"""Every policy of a set of rendered templates, indexed by the principal or resource it applies to.

A world is built from templates as deployed (see :mod:`access_proof.render`): each account's roles with
their identity policies and boundaries, and each resource's own policy (bucket, key, topic, queue,
function, repository, model package group, event bus, a role's trust policy). :meth:`World.evaluate`
then decides a request as AWS would (:func:`access_proof.policy.decide`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from access_proof.policy import (
    Decision,
    Document,
    Policies,
    Request,
    UnsupportedPolicyError,
    arn_account,
    decide,
)
from access_proof.render import Placement

ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
# AWS managed policies the evaluated roles carry. AdministratorAccess allows every action on every
# resource ("AWS managed policies for job functions", IAM User Guide).
KNOWN_MANAGED_POLICIES: dict[str, Document] = {
    ADMINISTRATOR_ACCESS: {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
}


@dataclass
class Role:
    """A role's own policies: inline and attached documents, managed policy ARNs, its boundary."""

    arn: str
    identity: list[Document] = field(default_factory=list)
    managed: list[str] = field(default_factory=list)
    boundary: str | None = None


@dataclass
class Resource:
    """A resource whose own policies (``kind`` says how AWS weighs them) govern requests on it."""

    arn: str
    account: str
    kind: str
    policies: list[Document] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


def _kind(arn: str) -> str:
    return arn.split(":", 3)[2]


class World:
    """The principals and resources of some accounts, as their templates define them."""

    def __init__(self, managed_policies: Mapping[str, Document] | None = None) -> None:
        self.roles: dict[str, Role] = {}
        self.resources: dict[str, Resource] = {}
        self.bucket_accounts: dict[str, str] = {}
        self.managed_policies: dict[str, Document] = dict(KNOWN_MANAGED_POLICIES)
        self.managed_policies.update(managed_policies or {})
        self.templates: dict[str, Mapping[str, Any]] = {}
        """Each rendered template by its stack name."""
        self._role_names: dict[tuple[str, str], str] = {}
        self._queue_urls: dict[str, str] = {}

    # --- building -----------------------------------------------------------------------------------

    def add_template(self, rendered: Mapping[str, Any], where: Placement) -> None:
        """Index one rendered template deployed at ``where``."""
        self.templates[where.stack_name] = rendered
        resources: dict[str, Any] = rendered.get("Resources", {})
        # Stubs (rendered without properties, see render's ``types``) hold no policy.
        full = {k: r for k, r in resources.items() if r.get("Properties")}
        # Named things first: policies in the same template refer to them.
        for resource in full.values():
            self._add_named(resource["Type"], resource["Properties"], resource, where)
        for logical_id, resource in full.items():
            self._add_policy(logical_id, resource["Type"], resource["Properties"], where)

    def _add_named(  # noqa: PLR0912 (one branch per resource type)
        self, kind: str, props: Mapping[str, Any], resource: Mapping[str, Any], where: Placement
    ) -> None:
        physical = resource.get("Metadata", {}).get("Cloud-Radar", {})
        attributes: Mapping[str, str] = physical.get("attribute-values", {})
        tags = {t["Key"]: t["Value"] for t in props.get("Tags", []) if isinstance(t, Mapping)}
        if kind == "AWS::IAM::Role":
            role = self.role(attributes["Arn"])
            role.identity += [p["PolicyDocument"] for p in props.get("Policies", [])]
            role.managed += list(props.get("ManagedPolicyArns", []))
            role.boundary = props.get("PermissionsBoundary")
            self._resource(attributes["Arn"], "trust").policies.append(props["AssumeRolePolicyDocument"])
        elif kind == "AWS::IAM::ManagedPolicy":
            self.managed_policies[physical["ref"]] = props["PolicyDocument"]
            for name in props.get("Roles", []):
                self.role(self.role_arn(where.account, name, where.partition)).managed.append(physical["ref"])
        elif kind == "AWS::S3::Bucket":
            self.bucket_accounts[physical["ref"]] = where.account
            self._resource(attributes["Arn"], "s3", where.account).tags.update(tags)
        elif kind == "AWS::KMS::Key":
            self._resource(attributes["Arn"], "kms").policies.append(props["KeyPolicy"])
        elif kind == "AWS::SNS::Topic":
            self._resource(attributes["TopicArn"], "sns").tags.update(tags)
        elif kind == "AWS::SQS::Queue":
            self._queue_urls[attributes["QueueUrl"]] = attributes["Arn"]
            self._resource(attributes["Arn"], "sqs")
        elif kind == "AWS::Lambda::Function":
            self._resource(attributes["Arn"], "lambda")
        elif kind == "AWS::ECR::Repository":
            repository = self._resource(attributes["Arn"], "ecr")
            if "RepositoryPolicyText" in props:
                repository.policies.append(props["RepositoryPolicyText"])
        elif kind == "AWS::SageMaker::ModelPackageGroup":
            group = self._resource(attributes["ModelPackageGroupArn"], "sagemaker")
            if "ModelPackageGroupPolicy" in props:
                group.policies.append(props["ModelPackageGroupPolicy"])
        elif kind == "AWS::CodePipeline::Pipeline":
            arn = f"arn:{where.partition}:codepipeline:{where.region}:{where.account}:{physical['ref']}"
            self._resource(arn, "codepipeline").tags.update(tags)

    def _add_policy(self, logical_id: str, kind: str, props: Mapping[str, Any], where: Placement) -> None:
        if kind in {"AWS::IAM::Policy", "AWS::IAM::RolePolicy"}:
            names = props["Roles"] if kind == "AWS::IAM::Policy" else [props["RoleName"]]
            for name in names:
                role = self.role(self.role_arn(where.account, name, where.partition))
                role.identity.append(props["PolicyDocument"])
        elif kind == "AWS::S3::BucketPolicy":
            self._resource(f"arn:{where.partition}:s3:::{props['Bucket']}", "s3").policies.append(
                props["PolicyDocument"]
            )
        elif kind == "AWS::SNS::TopicPolicy":
            for topic in props["Topics"]:
                self._resource(topic, "sns").policies.append(props["PolicyDocument"])
        elif kind == "AWS::SQS::QueuePolicy":
            for url in props["Queues"]:
                self._resource(self._queue_urls[url], "sqs").policies.append(props["PolicyDocument"])
        elif kind == "AWS::Lambda::Permission":
            self._add_lambda_permission(logical_id, props, where)
        elif kind == "AWS::Events::EventBusPolicy":
            self._add_bus_policy(props, where)

    def _add_bus_policy(self, props: Mapping[str, Any], where: Placement) -> None:
        """One statement of an event bus's policy, on the bus it names: a default bus has no template."""
        if "Statement" not in props:
            raise UnsupportedPolicyError("an event bus policy without Statement (its deprecated form)")
        bus = str(props.get("EventBusName", "default"))
        if not bus.startswith("arn:"):
            bus = f"arn:{where.partition}:events:{where.region}:{where.account}:event-bus/{bus}"
        statement = {"Sid": props["StatementId"], **props["Statement"]}
        self._resource(bus, "events").policies.append({"Statement": [statement]})

    def _add_lambda_permission(self, logical_id: str, props: Mapping[str, Any], where: Placement) -> None:
        """A function's resource policy statement, as Lambda writes it for ``AddPermission``."""
        function = str(props["FunctionName"])
        if not function.startswith("arn:"):
            function = f"arn:{where.partition}:lambda:{where.region}:{where.account}:function:{function}"
        principal = str(props["Principal"])
        condition: dict[str, dict[str, str]] = {}
        if "SourceArn" in props:
            condition["ArnLike"] = {"AWS:SourceArn": props["SourceArn"]}
        if "SourceAccount" in props:
            condition["StringEquals"] = {"AWS:SourceAccount": props["SourceAccount"]}
        statement: dict[str, Any] = {
            "Sid": logical_id,
            "Effect": "Allow",
            "Principal": {"Service" if principal.endswith(".amazonaws.com") else "AWS": principal},
            "Action": props["Action"],
            "Resource": function,
        }
        if condition:
            statement["Condition"] = condition
        self._resource(function, "lambda").policies.append({"Statement": [statement]})

    def resource_in(self, stack_name: str, kind: str, logical_prefix: str = "") -> Mapping[str, Any]:
        """The one rendered resource of type ``kind`` in a stack whose logical id starts with the prefix."""
        found = [
            resource
            for logical_id, resource in self.templates[stack_name]["Resources"].items()
            if resource["Type"] == kind and logical_id.startswith(logical_prefix)
        ]
        if len(found) != 1:
            raise LookupError(f"{len(found)} resources {kind} {logical_prefix}* in {stack_name}")
        resource: Mapping[str, Any] = found[0]
        return resource

    def attribute(self, stack_name: str, kind: str, logical_prefix: str = "", name: str = "Arn") -> str:
        """What ``Fn::GetAtt`` (or ``Ref``, for ``name="Ref"``) returns for that resource."""
        physical = self.resource_in(stack_name, kind, logical_prefix)["Metadata"]["Cloud-Radar"]
        return str(physical["ref"] if name == "Ref" else physical["attribute-values"][name])

    def role(self, arn: str) -> Role:
        """The role ``arn``, created empty if no template defines it (seedfarmer's module role)."""
        if arn not in self.roles:
            self.roles[arn] = Role(arn)
            self._role_names[(arn_account(arn), arn.rsplit("/", 1)[1])] = arn
        return self.roles[arn]

    def role_arn(self, account: str, name: str, partition: str = "aws") -> str:
        """A role's ARN from its name (path included) in ``account``."""
        return self._role_names.get((account, name), f"arn:{partition}:iam::{account}:role/{name}")

    def _resource(self, arn: str, kind: str, account: str | None = None) -> Resource:
        if arn not in self.resources:
            self.resources[arn] = Resource(arn, account or arn_account(arn), kind)
        return self.resources[arn]

    # --- variations, for near misses and the proof's own tests ----------------------------------------

    def with_role_like(self, arn: str, like: str) -> World:
        """A copy in which ``arn`` exists with the identity policies of ``like``.

        A near miss made with it shows that the resource's own policy (not the caller's) refuses.
        Shallow: only the roles are the copy's own.
        """
        world = copy.copy(self)
        world.roles = dict(self.roles)
        world._role_names = dict(self._role_names)
        template = self.roles[like]
        world.roles[arn] = Role(arn, list(template.identity), list(template.managed), template.boundary)
        world._role_names[(arn_account(arn), arn.rsplit("/", 1)[1])] = arn
        return world

    def without_statement(self, sid: str) -> World:
        """A copy without any statement whose Sid is ``sid`` (there must be one)."""
        world = copy.deepcopy(self)
        removed = 0
        documents: Iterable[Document] = [
            *(d for r in world.roles.values() for d in r.identity),
            *(d for r in world.resources.values() for d in r.policies),
            *world.managed_policies.values(),
        ]
        for document in documents:
            kept = [s for s in _statement_list(document) if s.get("Sid") != sid]
            removed += len(_statement_list(document)) - len(kept)
            document["Statement"] = kept  # type: ignore[index]
        if not removed:
            raise KeyError(f"no statement has Sid {sid!r}")
        return world

    # --- deciding -----------------------------------------------------------------------------------

    def resource_for(self, arn: str) -> Resource:
        """The resource whose policy governs ``arn``: a bucket for its objects, a group for its versions."""
        partition, service = arn.split(":")[1:3]
        if service == "s3":
            bucket = arn.split(":::", 1)[1].split("/", 1)[0]
            if bucket not in self.bucket_accounts:
                raise UnsupportedPolicyError(f"bucket {bucket!r} is in none of the templates: whose is it?")
            return self._resource(f"arn:{partition}:s3:::{bucket}", "s3", self.bucket_accounts[bucket])
        if service == "sagemaker" and ":model-package/" in arn:
            group = arn.split(":model-package/", 1)[1].split("/", 1)[0]
            head = arn.split(":model-package/", 1)[0]
            found = self.resources.get(f"{head}:model-package-group/{group}")
            return found or Resource(arn, arn_account(arn), service)
        return self.resources.get(arn) or Resource(arn, arn_account(arn), service)

    def policies(self, request: Request) -> Policies:
        resource = self.resource_for(request.resource)
        kind, documents = resource.kind, resource.policies
        if kind == "trust" and not request.action.lower().startswith("sts:"):
            kind, documents = "iam", []  # a trust policy governs assuming the role, nothing else
        identity: list[Document] = []
        boundary = None
        if not request.is_service:
            role = self.roles.get(request.principal)
            if role is None:
                raise UnsupportedPolicyError(f"{request.principal} is in none of the templates")
            identity = [*role.identity, *(self._managed(arn) for arn in role.managed)]
            boundary = self._managed(role.boundary) if role.boundary else None
        return Policies(
            identity=identity,
            boundary=boundary,
            resource=documents,
            resource_account=resource.account,
            resource_kind=kind,
        )

    def _managed(self, arn: str) -> Document:
        if arn not in self.managed_policies:
            raise UnsupportedPolicyError(f"managed policy {arn} is unknown: pass its document to World")
        return self.managed_policies[arn]

    def evaluate(self, request: Request) -> Decision:
        """``request`` decided against every policy that applies to it.

        The caller's own global keys are added as AWS adds them to every signed request
        (``aws:PrincipalArn``, ``aws:PrincipalAccount``: "AWS global condition context keys").
        """
        if not request.is_service:
            own = {
                "aws:PrincipalArn": request.principal,
                "aws:PrincipalAccount": str(request.principal_account),
            }
            request = Request(request.principal, request.action, request.resource, {**own, **request.context})
        return decide(request, self.policies(request))


def _statement_list(document: Document) -> list[Document]:
    found = document.get("Statement", [])
    return list(found) if isinstance(found, list) else [found]
