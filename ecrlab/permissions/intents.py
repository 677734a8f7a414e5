"""One registry policy from the common intents, composed so that every grant it writes takes effect.

The admin intent needs an explicit Deny (an Allow restricts nobody within one account), and an explicit Deny
overrides every Allow (IAM policy evaluation logic). A naive merge of the builders therefore cancels the
replication and pull-through-cache grants: their `ecr:CreateRepository` falls under the admin Deny. Here the
Deny exempts whom the other intents grant, and separate Denies take back from cache users what the exemption
would otherwise give them beyond their cache prefix:

- replication sources: every principal of the source account (ECR replicates as that account; which IAM
  principal AWS evaluates is UNCONFIRMED [U28], so the whole account is exempt, as the Allow already grants it);
- pull-through-cache users: `ecr:CreateRepository` under their prefix only, never `ecr:DeleteRepository`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ecrlab import checks
from ecrlab.errors import ValidationError
from ecrlab.permissions.patterns import partition_for_region
from ecrlab.permissions.policy import (
    POLICY_VERSION,
    RegistryPolicy,
    allow_pull_through_cache,
    allow_replication_from,
    merge,
    restrict_repository_admin,
)

ADMIN_SID = "DenyRepositoryAdminExceptListed"
CACHE_DELETE_SID = "DenyCacheUsersDeleteRepository"
CACHE_OUTSIDE_SID = "DenyCacheUsersCreateOutsideCache"


def _prefixes(value: str | Sequence[str]) -> list[str]:
    prefixes = list(checks.strings("pull_through_cache_prefix", value))
    if not prefixes:
        raise ValidationError("pull_through_cache_prefix", value, "must name at least one prefix (or ROOT)")
    return list(dict.fromkeys(prefixes))


def _cache_repositories(account_id: str, region: str, prefixes: list[str]) -> list[str]:
    partition = partition_for_region(region)
    return [f"arn:{partition}:ecr:{region}:{account_id}:repository/{p.rstrip('/')}/*" for p in prefixes]


def _deny(sid: str, actions: list[str], resource_key: str, resources: Any, principals: list[str]) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": actions,
        resource_key: resources,
        "Condition": {"ArnLike": {"aws:PrincipalArn": principals}},
    }


def from_intents(
    account_id: str,
    region: str,
    *,
    admin_principals: Sequence[str] = (),
    replication_sources: Sequence[str] = (),
    pull_through_cache_principals: Sequence[str] = (),
    pull_through_cache_prefix: str | Sequence[str] = "ROOT",
) -> RegistryPolicy | None:
    """One policy from the common intents, every requested grant effective; None when no intent is given.

    `pull_through_cache_prefix` is one rule prefix or several (one grant statement each); "ROOT" covers every
    repository.
    """
    checks.text("account_id", account_id)
    checks.text("region", region)
    admin_principals = checks.strings("admin_principals", admin_principals)
    replication_sources = checks.strings("replication_sources", replication_sources)
    pull_through_cache_principals = checks.strings("pull_through_cache_principals", pull_through_cache_principals)
    parts: list[RegistryPolicy] = []
    prefixes = _prefixes(pull_through_cache_prefix)
    if replication_sources:
        parts.append(allow_replication_from(list(replication_sources), account_id, region))
    if pull_through_cache_principals:
        for prefix in prefixes:
            parts.append(allow_pull_through_cache(list(pull_through_cache_principals), account_id, region, prefix))
    if not admin_principals:
        return merge(*parts) if parts else None
    admins = list(admin_principals)
    partition = partition_for_region(region)
    exempt = [
        *admins,
        *(f"arn:{partition}:iam::{source}:*" for source in replication_sources),
        *(p for p in pull_through_cache_principals if p not in admins),
    ]
    admin = restrict_repository_admin(account_id, list(dict.fromkeys(exempt)), region=region)
    cache_users = [p for p in pull_through_cache_principals if p not in admins]
    statements: list[dict[str, Any]] = []
    if cache_users:
        repositories = f"arn:{partition}:ecr:{region}:{account_id}:repository/*"
        statements.append(_deny(CACHE_DELETE_SID, ["ecr:DeleteRepository"], "Resource", repositories, cache_users))
        if "ROOT" not in prefixes:
            cache = _cache_repositories(account_id, region, prefixes)
            outside = cache[0] if len(cache) == 1 else cache
            statements.append(_deny(CACHE_OUTSIDE_SID, ["ecr:CreateRepository"], "NotResource", outside, cache_users))
    takeback = [RegistryPolicy({"Version": POLICY_VERSION, "Statement": statements})] if statements else []
    return merge(admin, *takeback, *parts)
