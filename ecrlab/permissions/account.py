"""Who exists in the registry's account, and what the registry is configured to do on their behalf.

Read-only (IAM list/get calls and ECR describe calls), so the same code answers for the emulator and AWS. When
the caller may not read IAM, `principals` answers None and the checks that need it say so instead of guessing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ecrlab.errors import ValidationError

if TYPE_CHECKING:
    from ecrlab.permissions.policy import RegistryPolicy
    from ecrlab.registry import Registry


@dataclass(frozen=True)
class Principal:
    """An identity that can call ECR: its ARN, what it is, and its identity policies by name."""

    arn: str
    kind: str  # role | user | root | replication source
    identity: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def short(self) -> str:
        """`role/dev-role`, `root`, or `444455556666` for another account."""
        account, resource = self.arn.split(":")[4], self.arn.split(":", 5)[5]
        return account if self.kind == "replication source" else resource


@dataclass(frozen=True)
class Flows:
    """What ECR does in this registry on someone's behalf, as configured: cache prefixes and template prefixes."""

    cache_prefixes: tuple[str, ...] = ()
    create_on_push_prefixes: tuple[str, ...] = ()
    replication_template_prefixes: tuple[str, ...] = ()


def _documents(named: dict[str, Any]) -> dict[str, Any]:
    return {name: json.loads(doc) if isinstance(doc, str) else doc for name, doc in named.items()}


def _attached(iam: Any, attached: list[dict[str, str]]) -> dict[str, Any]:
    found = {}
    for item in attached:
        version = iam.get_policy(PolicyArn=item["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=item["PolicyArn"], VersionId=version)["PolicyVersion"]
        found[item["PolicyName"]] = document["Document"]
    return found


def identity_policies(registry: Registry, principal_arn: str) -> dict[str, Any]:
    """A role's or user's inline and attached policies (a user's groups' too), read through IAM."""
    parts = principal_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValidationError("principal", principal_arn, "must be an IAM ARN, e.g. arn:aws:iam::123456789012:role/dev")
    iam = registry.client("iam")
    kind, _, rest = parts[5].partition("/")
    policies: dict[str, Any] = {}
    if kind in ("role", "assumed-role"):
        name = rest.split("/")[0] if kind == "assumed-role" else rest.split("/")[-1]
        for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            policies[policy_name] = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        policies |= _attached(iam, iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"])
    elif kind == "user":
        name = rest.split("/")[-1]
        for policy_name in iam.list_user_policies(UserName=name)["PolicyNames"]:
            policies[policy_name] = iam.get_user_policy(UserName=name, PolicyName=policy_name)["PolicyDocument"]
        policies |= _attached(iam, iam.list_attached_user_policies(UserName=name)["AttachedPolicies"])
        for group in iam.list_groups_for_user(UserName=name)["Groups"]:
            group_name = group["GroupName"]
            for policy_name in iam.list_group_policies(GroupName=group_name)["PolicyNames"]:
                document = iam.get_group_policy(GroupName=group_name, PolicyName=policy_name)["PolicyDocument"]
                policies[policy_name] = document
            policies |= _attached(iam, iam.list_attached_group_policies(GroupName=group_name)["AttachedPolicies"])
    return _documents(policies)


def principals(registry: Registry) -> list[Principal] | None:
    """The account's IAM roles and users with their identity policies, then its root; None if IAM is unreadable."""
    iam = registry.client("iam")
    found = []
    try:
        for kind, pages, key in (
            ("role", iam.get_paginator("list_roles").paginate(), "Roles"),
            ("user", iam.get_paginator("list_users").paginate(), "Users"),
        ):
            for page in pages:
                for entity in page[key]:
                    found.append(Principal(entity["Arn"], kind, identity_policies(registry, entity["Arn"])))
    except ClientError as error:
        if error.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException"):
            return None
        raise
    found.sort(key=lambda p: (p.kind, p.arn))
    return [*found, Principal(f"arn:aws:iam::{registry.account_id}:root", "root")]


def caller(registry: Registry, known: list[Principal] | None) -> str:
    """The principal IAM evaluates for the caller: its ARN, or the account root for credentials IAM does not list.

    The emulator's demo credentials (`user/moto`) belong to no IAM user and act as the root; on AWS every
    caller exists, so this changes nothing there.
    """
    arn = registry.caller_arn
    if ":user/" in arn and known is not None and not any(p.arn == arn for p in known):
        return f"arn:aws:iam::{registry.account_id}:root"
    return arn


def _listed(ecr: Any, operation: str, key: str) -> list[dict[str, Any]]:
    """Every item a describe call pages through; none when the caller may not read them (checks skip them)."""
    try:
        return [item for page in ecr.get_paginator(operation).paginate() for item in page.get(key, [])]
    except ClientError as error:
        if error.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException"):
            return []
        raise


def flows(registry: Registry) -> Flows:
    """The pull through cache rules' prefixes and the creation templates' prefixes, by what they apply for.

    A caller that may not describe them (a least-privilege permissions runner) sees no flows, so the flow checks
    find nothing rather than fail.
    """
    ecr = registry.client()
    rules = _listed(ecr, "describe_pull_through_cache_rules", "pullThroughCacheRules")
    templates = _listed(ecr, "describe_repository_creation_templates", "repositoryCreationTemplates")

    def applied(reason: str) -> tuple[str, ...]:
        return tuple(sorted(t["prefix"] for t in templates if reason in t.get("appliedFor", [])))

    return Flows(
        tuple(sorted(r["ecrRepositoryPrefix"] for r in rules)), applied("CREATE_ON_PUSH"), applied("REPLICATION")
    )


class AccountSnapshot:
    """What one permissions check reads of the account, each read on first use and then kept for that check.

    A preview or a lint evaluates many principals × actions, and its parts (matrix, blocked flows, lockout) each
    need the same principals, flows, REGISTRY_POLICY_SCOPE and policy in force: read once, not per part. Make a
    new snapshot per check (it never sees a later change), so a check after an apply reads the account again.
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @cached_property
    def principals(self) -> list[Principal] | None:
        return principals(self.registry)

    @cached_property
    def flows(self) -> Flows:
        return flows(self.registry)

    @cached_property
    def scope(self) -> str:
        return self.registry.client().get_account_setting(name="REGISTRY_POLICY_SCOPE")["value"]

    @cached_property
    def policy(self) -> RegistryPolicy | None:
        """The registry policy in force."""
        from ecrlab.permissions.registry_policy import read

        return read(self.registry)
