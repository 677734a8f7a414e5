"""Intents compose: every grant `from_intents` writes is effective, every action the admin intent forbids is denied.

Expectations follow AWS's rules, not the builder: an explicit Deny overrides any Allow and within one account
either an identity or a resource-based Allow is enough (IAM policy evaluation logic,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html); the replication
destination grants the source account ecr:ReplicateImage and ecr:CreateRepository
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/replication.html); cache users need
ecr:CreateRepository and ecr:BatchImportUpstreamImage under the rule's prefix
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html).
"""

from __future__ import annotations

import itertools

import pytest

from ecrlab.permissions import merge, restrict_repository_admin, simulate
from ecrlab.permissions import registry_policy as live
from ecrlab.permissions.policy import allow_pull_through_cache, allow_replication_from

ACCOUNT, REGION = "123456789012", "us-east-1"
DEVOPS = f"arn:aws:iam::{ACCOUNT}:role/devops-role"
CI = f"arn:aws:iam::{ACCOUNT}:role/ci-role"
DEV = f"arn:aws:iam::{ACCOUNT}:role/dev-role"
SOURCES = ("444455556666", "777788889999")
STRANGER = "arn:aws:iam::210987654321:root"
EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}

ADMINS = [(), (DEVOPS,)]
REPLICATION = [(), SOURCES[:1], SOURCES]
CACHE_USERS = [(), (CI,), (CI, DEVOPS)]
PREFIXES = ["ROOT", "docker-hub", ("docker-hub", "ecr-public")]


def session(role_arn: str) -> str:
    return role_arn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") + "/s"


def repository(name: str) -> str:
    return f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}"


def decide(policy, principal: str, action: str, name: str, identity: bool) -> str:
    return simulate(
        principal,
        action,
        repository(name),
        identity_policies=[EVERYTHING] if identity else [],
        registry_policy=policy,
        resource_account=ACCOUNT,
    ).outcome


def cache_names(prefix) -> list[str]:
    prefixes = [prefix] if isinstance(prefix, str) else list(prefix)
    return ["any/thing" if p == "ROOT" else f"{p}/library/node" for p in prefixes]


@pytest.mark.parametrize(
    ("admins", "sources", "cache_users", "prefix"), list(itertools.product(ADMINS, REPLICATION, CACHE_USERS, PREFIXES))
)
def test_every_requested_grant_is_allowed_and_every_forbidden_action_denied(admins, sources, cache_users, prefix):
    policy = live.from_intents(
        ACCOUNT,
        REGION,
        admin_principals=admins,
        replication_sources=sources,
        pull_through_cache_principals=cache_users,
        pull_through_cache_prefix=prefix,
    )
    if not (admins or sources or cache_users):
        assert policy is None
        return
    for admin in admins:  # identity ecr:*, not denied
        for action in ("ecr:CreateRepository", "ecr:DeleteRepository"):
            assert decide(policy, session(admin), action, "team/app", identity=True) == "Allowed"
    for source in sources:
        for action in ("ecr:ReplicateImage", "ecr:CreateRepository"):
            assert decide(policy, f"arn:aws:iam::{source}:root", action, "team/app", identity=False) == "Allowed"
        assert decide(policy, f"arn:aws:iam::{source}:root", "ecr:DeleteRepository", "team/app", False) != "Allowed"
    for user, name in itertools.product(cache_users, cache_names(prefix)):
        for action in ("ecr:CreateRepository", "ecr:BatchImportUpstreamImage"):
            # the registry policy alone grants it (no identity policy), and ecr:* users keep it under the Deny
            assert decide(policy, session(user), action, name, identity=False) == "Allowed", (user, action, name)
            assert decide(policy, session(user), action, name, identity=True) == "Allowed", (user, action, name)
    assert decide(policy, STRANGER, "ecr:ReplicateImage", "team/app", identity=False) != "Allowed"
    if not admins:
        return
    for action in ("ecr:CreateRepository", "ecr:DeleteRepository"):
        assert decide(policy, session(DEV), action, "team/app", identity=True) == "ExplicitlyDenied"
        assert decide(policy, session(DEV), action, cache_names(prefix)[0], identity=True) == "ExplicitlyDenied"
    for user in set(cache_users) - set(admins):
        assert decide(policy, session(user), "ecr:DeleteRepository", cache_names(prefix)[0], True) == "ExplicitlyDenied"
        if prefix != "ROOT":
            assert decide(policy, session(user), "ecr:CreateRepository", "team/app", True) == "ExplicitlyDenied"


def test_the_naive_merge_cancels_its_own_grants():
    """Why from_intents composes: merging the builders puts the grants under the admin Deny (issue 15)."""
    naive = merge(
        restrict_repository_admin(ACCOUNT, [DEVOPS], region=REGION),
        allow_replication_from(["444455556666"], ACCOUNT, REGION),
        allow_pull_through_cache([CI], ACCOUNT, REGION, "docker-hub"),
    )
    assert decide(naive, "arn:aws:iam::444455556666:root", "ecr:CreateRepository", "app", False) == "ExplicitlyDenied"
    assert decide(naive, session(CI), "ecr:CreateRepository", "docker-hub/x", False) == "ExplicitlyDenied"


def test_admin_only_intent_keeps_its_single_statement():
    policy = live.from_intents(ACCOUNT, REGION, admin_principals=[DEVOPS])
    assert policy == restrict_repository_admin(ACCOUNT, [DEVOPS], region=REGION)
