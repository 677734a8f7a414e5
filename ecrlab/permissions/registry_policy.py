"""The registry policy of a live registry: read it, plan and apply a new one, ask what a principal may do.

Reads use only describe/get calls (ECR and IAM), so the same code answers for the emulator and for AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ecrlab.errors import ValidationError
from ecrlab.permissions.account import identity_policies
from ecrlab.permissions.actions import repository_actions
from ecrlab.permissions.intents import from_intents
from ecrlab.permissions.policy import POLICY_VERSION, RegistryPolicy, merge
from ecrlab.permissions.simulate import simulate
from ecrlab.plan import Parts, Plan, Setting, Wanted, make_plan, setting_kind

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

__all__ = [
    "DECISION_COLUMNS",
    "from_intents",
    "plan",
    "policy_after",
    "read",
    "registry_policy",
    "what_can",
    "with_statements",
]

DECISION_COLUMNS = ["principal", "action", "resource", "decision", "why"]


FRAME = "@"  # keys of a policy's top-level members (Version, Id): part of the document, owned by no team


def statement_key(statement: Any) -> str:
    """A statement's part key: its Sid, or its content when it has none (then any edit makes it another part)."""
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    return f"Sid {sid}" if sid else "statement " + json.dumps(statement, sort_keys=True)


def split_policy(text: str | None) -> dict[str, Any]:
    """A policy's parts: top-level members (`@Version`) and its statements by Sid, in document order."""
    if text is None:
        return {}
    document = json.loads(text)
    parts = {FRAME + key: value for key, value in document.items() if key != "Statement"}
    statements = document.get("Statement", [])
    for statement in [statements] if isinstance(statements, dict) else statements:
        parts[statement_key(statement)] = statement
    return parts


def join_policy(parts: dict[str, Any]) -> str | None:
    """The policy text of these parts; None (no policy) when no statement is left."""
    statements = [value for key, value in parts.items() if not key.startswith(FRAME)]
    if not statements:
        return None
    frame = {key[len(FRAME) :]: value for key, value in parts.items() if key.startswith(FRAME)}
    return json.dumps({"Version": POLICY_VERSION, **frame, "Statement": statements}, indent=2)


def _label(key: str, part: Any) -> str:
    if key.startswith(FRAME):
        return f"policy {key[len(FRAME) :]} {part}"
    return key[len("Sid ") :] if key.startswith("Sid ") else key


POLICY_PARTS = Parts(split_policy, join_policy, "statement", _label)


@setting_kind("registry-policy")
def registry_policy(key: str = "policy") -> Setting:
    """The registry's one policy, as the text AWS returns (so a restore writes it back byte for byte), shared by
    every team with statements in it: planned and written statement by statement (by Sid)."""

    def read(registry: Registry) -> str | None:
        ecr = registry.client()
        try:
            return ecr.get_registry_policy()["policyText"]
        except ecr.exceptions.RegistryPolicyNotFoundException:
            return None

    def write(registry: Registry, text: str | None) -> None:
        ecr = registry.client()
        if text is None:
            ecr.delete_registry_policy()
        else:
            ecr.put_registry_policy(policyText=text)

    return Setting("registry-policy", key, read, write, POLICY_PARTS)


def read(registry: Registry) -> RegistryPolicy | None:
    text = registry_policy().read(registry)
    return RegistryPolicy(json.loads(text)) if text is not None else None


def plan(
    registry: Registry,
    policy: RegistryPolicy | None,
    *,
    remove: Iterable[str] = (),
    remove_unlisted: bool = False,
) -> Plan:
    """Make the registry policy hold `policy`'s statements (by Sid), keeping every other statement.

    `remove` names statements (Sids) to take out; `remove_unlisted` takes out every statement `policy` does not
    have (with `policy` None: the whole registry policy). Each removal is listed in the plan.
    """
    wanted = {
        key: value
        for key, value in split_policy(policy.to_json() if policy else None).items()
        if not key.startswith(FRAME)
    }
    remove = list(remove)
    if not all(isinstance(sid, str) and sid for sid in remove):
        raise ValidationError("remove_statements", remove, "must be a list of statement Sids")
    removals = tuple(f"Sid {sid}" for sid in remove)
    result = make_plan(registry, [(registry_policy(), Wanted(wanted, removals, remove_unlisted))])
    for change in result.changes:
        if change.after is not None:
            RegistryPolicy(json.loads(change.after))  # the merged policy must still be one AWS takes (its size)
    return result


def policy_after(registry: Registry, planned: Plan) -> RegistryPolicy | None:
    """The whole registry policy `planned` leaves (its statements merged with everyone else's): what a preview or
    a lint must judge, since that is what is written."""
    for change in planned.changes:
        if change.setting.kind == "registry-policy":
            return RegistryPolicy(json.loads(change.after)) if change.after is not None else None
    return read(registry)


def with_statements(policy: RegistryPolicy | None, statements: Sequence[Any]) -> RegistryPolicy | None:
    """`policy` with more statements (a runbook's `extra_statements`); each needs a Sid, the part it is managed by,
    and one with a Sid `policy` has replaces that statement."""
    if not isinstance(statements, list | tuple):
        raise ValidationError("extra_statements", statements, "must be a JSON list of statements")
    for statement in statements:
        if not isinstance(statement, dict) or not isinstance(statement.get("Sid"), str) or not statement["Sid"]:
            raise ValidationError("extra_statements", statement, "each statement must be an object with a Sid")
    if not statements:
        return policy
    extra = RegistryPolicy({"Version": POLICY_VERSION, "Statement": list(statements)})
    return merge(policy, extra) if policy is not None else extra


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
