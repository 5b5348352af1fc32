"""CDK values the same for the whole app, fetched from Node.js once instead of once per use.

Reading a CDK static (``cdk.Aws.PARTITION``) or calling a factory (``cdk.Duration.minutes(5)``) is a jsii
round trip (~1.4 ms), and round trips are most of a synth's time. Each value here is immutable (a token
string, or an object without setters whose methods return new objects), so one serves every construct.
"""

from __future__ import annotations

import functools

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3


@functools.cache
def partition() -> str:
    """``cdk.Aws.PARTITION``: a token string, the same on every read, resolved per stack."""
    return cdk.Aws.PARTITION


@functools.cache
def block_all() -> s3.BlockPublicAccess:
    """``s3.BlockPublicAccess.BLOCK_ALL``."""
    return s3.BlockPublicAccess.BLOCK_ALL


@functools.cache
def seconds(amount: int) -> cdk.Duration:
    """``cdk.Duration.seconds(amount)``."""
    return cdk.Duration.seconds(amount)


@functools.cache
def minutes(amount: int) -> cdk.Duration:
    """``cdk.Duration.minutes(amount)``."""
    return cdk.Duration.minutes(amount)


@functools.cache
def hours(amount: int) -> cdk.Duration:
    """``cdk.Duration.hours(amount)``."""
    return cdk.Duration.hours(amount)


@functools.cache
def days(amount: int) -> cdk.Duration:
    """``cdk.Duration.days(amount)``."""
    return cdk.Duration.days(amount)


@functools.cache
def service_principal(service: str) -> iam.ServicePrincipal:
    """``iam.ServicePrincipal(service)``: it has no setters; its policy fragment is made fresh per use."""
    return iam.ServicePrincipal(service)


@functools.cache
def account_principal(account: str) -> iam.AccountPrincipal:
    """``iam.AccountPrincipal(account)``: its ARN is a token resolved in each stack it is used in."""
    return iam.AccountPrincipal(account)
