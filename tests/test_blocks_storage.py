"""Buckets (blocks/storage.py): every bucket of every stack encrypted, versioned, private and TLS-only; access
logs where the user says."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from tests.conftest import Synth
from tests.template_harness import template


def test_every_bucket_is_encrypted_versioned_private_and_tls_only(example_synth: Synth) -> None:
    buckets = list(example_synth.resources("AWS::S3::Bucket"))
    assert buckets
    policies = {
        json.dumps(r["Properties"]["Bucket"]): r["Properties"]["PolicyDocument"]["Statement"]
        for _, _, r in example_synth.resources("AWS::S3::BucketPolicy")
    }
    for stack, logical_id, bucket in buckets:
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], logical_id
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, logical_id
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        statements = policies[json.dumps({"Ref": logical_id})]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        ), f"{stack.display_name}/{logical_id} accepts plain HTTP"


def test_user_access_log_bucket_receives_tooling_logs(long_names_synth: Synth) -> None:
    top = template(long_names_synth, "MlopsCicd")
    top.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LoggingConfiguration": {
                "DestinationBucketName": "org-tooling-access-logs",
                "LogFilePrefix": Match.any_value(),
            }
        },
    )
