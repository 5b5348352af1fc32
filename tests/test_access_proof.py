"""The access proof's evaluator against AWS's own documented policy examples and evaluation rules.

Each case restates the policy shape of an example on the cited AWS page and the outcome the page gives,
so the evaluator is checked against AWS's word rather than against itself.
"""

from __future__ import annotations

from typing import Any

import pytest

from access_proof.policy import (
    Policies,
    Request,
    UnsupportedPolicyError,
    arn_match,
    conditions_hold,
    decide,
)
from access_proof.render import Placement, render
from access_proof.world import World

ALICE = "arn:aws:iam::111122223333:role/Alice"
BOB = "arn:aws:iam::444455556666:role/Bob"
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def allow(action: object, resource: object = "*", **extra: Any) -> dict[str, Any]:
    return {"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource, **extra}]}


def statement(effect: str = "Allow", **fields: Any) -> dict[str, Any]:
    return {"Statement": [{"Effect": effect, **fields}]}


# --- condition operators ---------------------------------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html


def test_string_like_wildcards_and_key_names_are_case_insensitive() -> None:
    block = {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}}
    with pytest.raises(UnsupportedPolicyError):  # policy variables are refused, not guessed
        conditions_hold(block, {"s3:prefix": "home/"})
    block = {"StringLike": {"aws:PrincipalTag/job-category": ["iamuser-admin*"]}}
    assert conditions_hold(block, {"AWS:principaltag/job-category": "iamuser-admin-2"})
    assert not conditions_hold(block, {"aws:PrincipalTag/job-category": "iamuser"})


def test_a_missing_key_fails_positive_operators_and_passes_negated_and_if_exists_ones() -> None:
    """ "If the key ... is not present in the request context, the [condition] returns false" except
    for negated operators and ...IfExists ("Condition operators": "...IfExists" and "Negated matching")."""
    assert not conditions_hold({"StringEquals": {"aws:SourceAccount": "111122223333"}}, {})
    assert conditions_hold({"StringNotEquals": {"s3:ResourceAccount": "111122223333"}}, {})
    assert conditions_hold({"StringEqualsIfExists": {"ec2:InstanceType": "t2.micro"}}, {})
    assert not conditions_hold(
        {"StringEqualsIfExists": {"ec2:InstanceType": "t2.micro"}}, {"ec2:InstanceType": "m5.large"}
    )
    assert not conditions_hold({"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/a"}}, {})


def test_for_any_value_matches_one_of_a_multivalued_key() -> None:
    """The KMS guide's kms:ResourceAliases example: a key with several aliases, one of them named."""
    block = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/ProjectAlpha", "alias/ProjectBeta"]}}
    assert conditions_hold(block, {"kms:ResourceAliases": ["alias/other", "alias/ProjectBeta"]})
    assert not conditions_hold(block, {"kms:ResourceAliases": ["alias/other"]})


def test_bool_secure_transport_deny_applies_only_without_tls() -> None:
    """The S3 guide's "aws:SecureTransport" deny: an explicit deny for plain HTTP, nothing otherwise."""
    deny = statement(
        "Deny",
        Principal="*",
        Action="s3:*",
        Resource=[BUCKET, f"{BUCKET}/*"],
        Condition={"Bool": {"aws:SecureTransport": "false"}},
    )
    grant = allow("s3:GetObject", f"{BUCKET}/*")
    policies = Policies(
        identity=[grant], resource=[deny], resource_account="111122223333", resource_kind="s3"
    )
    tls = Request(ALICE, "s3:GetObject", f"{BUCKET}/a", {"aws:SecureTransport": "true"})
    plain = Request(ALICE, "s3:GetObject", f"{BUCKET}/a", {"aws:SecureTransport": "false"})
    assert decide(tls, policies)
    assert not decide(plain, policies)


def test_null_checks_presence() -> None:
    """The CDK bootstrap trust policies' ``Null sts:ExternalId true``: assumable only without one."""
    assert conditions_hold({"Null": {"sts:ExternalId": "true"}}, {})
    assert not conditions_hold({"Null": {"sts:ExternalId": "true"}}, {"sts:ExternalId": "x"})


def test_arn_like_matches_each_segment() -> None:
    """ArnLike: "each of the six colon-delimited components of the ARN is checked separately"."""
    assert arn_match("arn:aws:sns:*:111122223333:*", "arn:aws:sns:us-east-1:111122223333:topic")
    assert not arn_match("arn:aws:sns:*:111122223333:*", "arn:aws:sns:us-east-1:444455556666:topic")
    assert arn_match("arn:aws:s3:::bucket/models/*", "arn:aws:s3:::bucket/models/a/b:c")
    assert not arn_match("arn:aws:s3:::bucket/models/*", "arn:aws:s3:::bucket/data/a")


def test_unknown_operators_fail_loudly() -> None:
    with pytest.raises(UnsupportedPolicyError):
        conditions_hold({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, {})


# --- policy evaluation logic ------------------------------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html


def test_within_one_account_either_identity_or_resource_policy_allows() -> None:
    by_identity = Policies(identity=[allow("s3:GetObject", f"{BUCKET}/*")], resource_account="111122223333")
    by_resource = Policies(
        resource=[statement(Principal={"AWS": ALICE}, Action="s3:GetObject", Resource=f"{BUCKET}/*")],
        resource_account="111122223333",
    )
    request = Request(ALICE, "s3:GetObject", f"{BUCKET}/x")
    assert decide(request, by_identity)
    assert decide(request, by_resource)
    assert not decide(request, Policies(resource_account="111122223333"))


def test_across_accounts_both_must_allow() -> None:
    """The cross-account page's rule, as in the S3 guide's "Bucket owner granting cross-account bucket
    permissions" walkthrough."""
    bucket_policy = statement(
        Principal={"AWS": "arn:aws:iam::444455556666:root"}, Action="s3:GetObject", Resource=f"{BUCKET}/*"
    )
    request = Request(BOB, "s3:GetObject", f"{BUCKET}/x")
    both = Policies(
        identity=[allow("s3:GetObject", f"{BUCKET}/*")],
        resource=[bucket_policy],
        resource_account="111122223333",
    )
    assert decide(request, both)
    assert not decide(request, Policies(identity=both.identity, resource_account="111122223333"))
    assert not decide(request, Policies(resource=[bucket_policy], resource_account="111122223333"))


def test_an_explicit_deny_wins() -> None:
    policies = Policies(
        identity=[allow("s3:*", "*"), statement("Deny", Action="s3:DeleteObject", Resource="*")],
        resource_account="111122223333",
    )
    assert decide(Request(ALICE, "s3:GetObject", f"{BUCKET}/x"), policies)
    assert not decide(Request(ALICE, "s3:DeleteObject", f"{BUCKET}/x"), policies)


def test_a_permissions_boundary_limits_identity_grants() -> None:
    """IAM guide, "Permissions boundaries for IAM entities": effective = identity AND boundary."""
    policies = Policies(
        identity=[allow("s3:*", "*")], boundary=allow("s3:GetObject", "*"), resource_account="111122223333"
    )
    assert decide(Request(ALICE, "s3:GetObject", f"{BUCKET}/x"), policies)
    assert not decide(Request(ALICE, "s3:PutObject", f"{BUCKET}/x"), policies)


def test_not_action_allows_everything_else() -> None:
    policies = Policies(
        identity=[statement(NotAction="iam:*", Resource="*")], resource_account="111122223333"
    )
    assert decide(Request(ALICE, "s3:GetObject", f"{BUCKET}/x"), policies)
    assert not decide(Request(ALICE, "iam:CreateUser", "arn:aws:iam::111122223333:user/x"), policies)


def test_a_service_principal_needs_the_resource_policy() -> None:
    """Lambda guide, "Using resource-based policies in Lambda": sns.amazonaws.com with a source ARN."""
    function = "arn:aws:lambda:us-east-2:123456789012:function:my-function"
    topic = "arn:aws:sns:us-east-2:123456789012:my-topic"
    policy = statement(
        Principal={"Service": "sns.amazonaws.com"},
        Action="lambda:InvokeFunction",
        Resource=function,
        Condition={"ArnLike": {"AWS:SourceArn": topic}},
    )
    policies = Policies(resource=[policy], resource_account="123456789012")
    assert decide(
        Request("sns.amazonaws.com", "lambda:InvokeFunction", function, {"aws:SourceArn": topic}), policies
    )
    other = "arn:aws:sns:us-east-2:123456789012:other"
    assert not decide(
        Request("sns.amazonaws.com", "lambda:InvokeFunction", function, {"aws:SourceArn": other}), policies
    )
    assert not decide(
        Request("sqs.amazonaws.com", "lambda:InvokeFunction", function, {"aws:SourceArn": topic}), policies
    )


# --- KMS key policies --------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
# https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html

ROOT_DELEGATES = statement(Principal={"AWS": "arn:aws:iam::111122223333:root"}, Action="kms:*", Resource="*")


def test_the_default_key_policy_delegates_to_iam_only() -> None:
    """ "Allows access to the AWS account and enables IAM policies": it gives no one access by itself."""
    request = Request(ALICE, "kms:Decrypt", KEY)
    alone = Policies(resource=[ROOT_DELEGATES], resource_account="111122223333", resource_kind="kms")
    with_iam = Policies(
        identity=[allow("kms:Decrypt", KEY)],
        resource=[ROOT_DELEGATES],
        resource_account="111122223333",
        resource_kind="kms",
    )
    assert not decide(request, alone)
    assert decide(request, with_iam)


def test_a_key_without_the_root_statement_ignores_identity_policies() -> None:
    """KMS: "Unless the key policy explicitly allows it, you cannot use IAM policies to allow access"."""
    policies = Policies(identity=[allow("kms:*", "*")], resource_account="111122223333", resource_kind="kms")
    assert not decide(Request(ALICE, "kms:Decrypt", KEY), policies)


def test_another_account_needs_key_policy_and_its_own_iam_policy() -> None:
    external = statement(
        Principal={"AWS": "arn:aws:iam::444455556666:root"},
        Action=["kms:Decrypt", "kms:DescribeKey"],
        Resource="*",
        Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
    )
    key: dict[str, Any] = {
        "resource": [ROOT_DELEGATES, external],
        "resource_account": "111122223333",
        "resource_kind": "kms",
    }
    via_s3 = Request(BOB, "kms:Decrypt", KEY, {"kms:ViaService": "s3.us-east-1.amazonaws.com"})
    assert decide(via_s3, Policies(identity=[allow("kms:Decrypt", KEY)], **key))
    assert not decide(via_s3, Policies(**key))
    direct = Request(BOB, "kms:Decrypt", KEY)
    assert not decide(direct, Policies(identity=[allow("kms:Decrypt", KEY)], **key))


# --- trust policies -----------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn


def test_a_trust_policy_naming_an_account_with_a_principal_arn_condition() -> None:
    trust = statement(
        Principal={"AWS": "arn:aws:iam::444455556666:root"},
        Action="sts:AssumeRole",
        Condition={"ArnEquals": {"aws:PrincipalArn": BOB}},
    )
    role = "arn:aws:iam::111122223333:role/Target"
    policies = Policies(
        identity=[allow("sts:AssumeRole", role)],
        resource=[trust],
        resource_account="111122223333",
        resource_kind="trust",
    )
    assert decide(Request(BOB, "sts:AssumeRole", role, {"aws:PrincipalArn": BOB}), policies)
    carol = "arn:aws:iam::444455556666:role/Carol"
    assert not decide(Request(carol, "sts:AssumeRole", role, {"aws:PrincipalArn": carol}), policies)


# --- a world from a template -------------------------------------------------------------------------


TEMPLATE: dict[str, Any] = {
    "Parameters": {"Consumer": {"Type": "String"}},
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "data-bucket"}},
        "Reader": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "reader",
                "AssumeRolePolicyDocument": statement(
                    Principal={"Service": "lambda.amazonaws.com"}, Action="sts:AssumeRole"
                ),
            },
        },
        "ReaderPolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "read",
                "Roles": [{"Ref": "Reader"}],
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Sid": "ReadData",
                            "Effect": "Allow",
                            "Action": "s3:GetObject",
                            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/data/*"]]},
                        }
                    ]
                },
            },
        },
        "BucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "Bucket"},
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Sid": "ConsumerReads",
                            "Effect": "Allow",
                            "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${Consumer}:root"}},
                            "Action": "s3:GetObject",
                            "Resource": {"Fn::Sub": "${Bucket.Arn}/data/*"},
                        }
                    ]
                },
            },
        },
    },
}


def test_a_world_resolves_a_template_and_decides_on_it() -> None:
    """cloud-radar resolves Ref, GetAtt, Join and Sub; the world indexes the result by ARN."""
    where = Placement("data", "111122223333", "us-east-1")
    world = World()
    world.add_template(render(TEMPLATE, where, {"Consumer": "444455556666"}), where)
    reader = "arn:aws:iam::111122223333:role/reader"
    assert world.evaluate(Request(reader, "s3:GetObject", "arn:aws:s3:::data-bucket/data/x"))
    assert not world.evaluate(Request(reader, "s3:GetObject", "arn:aws:s3:::data-bucket/other/x"))
    consumer = "arn:aws:iam::444455556666:role/consumer"
    consuming = world.with_role_like(consumer, reader)
    assert consuming.evaluate(Request(consumer, "s3:GetObject", "arn:aws:s3:::data-bucket/data/x"))
    # The proof's own sensitivity: without the bucket policy's statement the other account is refused.
    assert not consuming.without_statement("ConsumerReads").evaluate(
        Request(consumer, "s3:GetObject", "arn:aws:s3:::data-bucket/data/x")
    )
