"""The registry policy of a live registry: read it, plan and apply a new one, ask what a principal may do.

Reads use only describe/get calls (ECR and IAM), so the same code answers for the emulator and for AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ecrlab import checks
from ecrlab.errors import ValidationError
from ecrlab.permissions.actions import repository_actions
from ecrlab.permissions.policy import (
    RegistryPolicy,
    allow_pull_through_cache,
    allow_replication_from,
    merge,
    restrict_repository_admin,
)
from ecrlab.permissions.simulate import simulate
from ecrlab.plan import Plan, Setting, make_plan, setting_kind

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

DECISION_COLUMNS = ["principal", "action", "resource", "decision", "why"]


@setting_kind("registry-policy")
def registry_policy(key: str = "policy") -> Setting:
    """The registry's one policy (a regional singleton: writing it replaces every statement)."""

    def read(registry: Registry) -> dict[str, Any] | None:
        ecr = registry.client()
        try:
            return json.loads(ecr.get_registry_policy()["policyText"])
        except ecr.exceptions.RegistryPolicyNotFoundException:
            return None

    def write(registry: Registry, document: dict[str, Any] | None) -> None:
        ecr = registry.client()
        if document is None:
            ecr.delete_registry_policy()
        else:
            ecr.put_registry_policy(policyText=json.dumps(document))

    return Setting("registry-policy", key, read, write)


def read(registry: Registry) -> RegistryPolicy | None:
    document = registry_policy().read(registry)
    return RegistryPolicy(document) if document is not None else None


def plan(registry: Registry, policy: RegistryPolicy | None) -> Plan:
    """Replace the registry policy with `policy` (None deletes it); the old one is backed up on apply."""
    return make_plan(registry, [(registry_policy(), policy.to_dict() if policy else None)])


def from_intents(
    account_id: str,
    region: str,
    *,
    admin_principals: Sequence[str] = (),
    replication_sources: Sequence[str] = (),
    pull_through_cache_principals: Sequence[str] = (),
    pull_through_cache_prefix: str = "ROOT",
) -> RegistryPolicy | None:
    """One policy from the common intents; None when no intent is given (no policy at all)."""
    checks.text("account_id", account_id)
    checks.text("region", region)
    checks.text("pull_through_cache_prefix", pull_through_cache_prefix)
    admin_principals = checks.strings("admin_principals", admin_principals)
    replication_sources = checks.strings("replication_sources", replication_sources)
    pull_through_cache_principals = checks.strings("pull_through_cache_principals", pull_through_cache_principals)
    parts = []
    if admin_principals:
        parts.append(restrict_repository_admin(account_id, list(admin_principals), region=region))
    if replication_sources:
        parts.append(allow_replication_from(list(replication_sources), account_id, region))
    if pull_through_cache_principals:
        parts.append(
            allow_pull_through_cache(list(pull_through_cache_principals), account_id, region, pull_through_cache_prefix)
        )
    return merge(*parts) if parts else None


def _identity_policies(registry: Registry, principal_arn: str) -> dict[str, Any]:
    """A role's or user's inline and attached policies, read through IAM."""
    parts = principal_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValidationError("principal", principal_arn, "must be an IAM ARN, e.g. arn:aws:iam::123456789012:role/dev")
    iam = registry.client("iam")
    kind, _, rest = parts[5].partition("/")
    name = rest.split("/")[0] if kind in ("role", "assumed-role") else rest.split("/")[-1]
    policies: dict[str, Any] = {}
    if kind in ("role", "assumed-role"):
        for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            policies[policy_name] = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    elif kind == "user":
        for policy_name in iam.list_user_policies(UserName=name)["PolicyNames"]:
            policies[policy_name] = iam.get_user_policy(UserName=name, PolicyName=policy_name)["PolicyDocument"]
        attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    else:
        return policies
    for item in attached:
        version = iam.get_policy(PolicyArn=item["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=item["PolicyArn"], VersionId=version)["PolicyVersion"]
        policies[item["PolicyName"]] = document["Document"]
    return {name: json.loads(doc) if isinstance(doc, str) else doc for name, doc in policies.items()}


def what_can(
    registry: Registry, principals: Iterable[str], actions: Iterable[str], repository: str = "new-app"
) -> pd.DataFrame:
    """Principal × action → decision and why, from the live identity, registry and repository policies.

    Repository actions are decided on `repository` (which need not exist yet, as for CreateRepository);
    registry-level actions on "*".
    """
    import pandas as pd

    ecr = registry.client()
    current = read(registry)
    scope = ecr.get_account_setting(name="REGISTRY_POLICY_SCOPE")["value"]
    try:
        repository_policy = ecr.get_repository_policy(repositoryName=repository)["policyText"]
    except (ecr.exceptions.RepositoryPolicyNotFoundException, ecr.exceptions.RepositoryNotFoundException):
        repository_policy = None
    repository_arn = f"arn:aws:ecr:{registry.region}:{registry.account_id}:repository/{repository}"
    rows = []
    for principal in principals:
        identity = _identity_policies(registry, principal)
        for action in actions:
            resource = repository_arn if action in repository_actions() else "*"
            decision = simulate(
                principal,
                action,
                resource,
                identity_policies=identity,
                registry_policy=current.to_dict() if current else None,
                repository_policy=repository_policy,
                scope=scope,
                resource_account=registry.account_id,
            )
            rows.append(
                {
                    "principal": principal,
                    "action": action,
                    "resource": resource,
                    "decision": decision.outcome,
                    "why": decision.explanation,
                }
            )
    return pd.DataFrame(rows, columns=DECISION_COLUMNS)
