"""The registry policy of a live registry: read it, plan and apply a new one, ask what a principal may do.

Reads use only describe/get calls (ECR and IAM), so the same code answers for the emulator and for AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ecrlab.permissions.account import identity_policies
from ecrlab.permissions.actions import repository_actions
from ecrlab.permissions.intents import from_intents
from ecrlab.permissions.policy import RegistryPolicy
from ecrlab.permissions.simulate import simulate
from ecrlab.plan import Plan, Setting, make_plan, setting_kind

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

__all__ = ["DECISION_COLUMNS", "from_intents", "plan", "read", "registry_policy", "what_can"]

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
        identity = identity_policies(registry, principal)
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
