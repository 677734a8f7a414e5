"""Lint against the live registry: flows a Deny blocks, principals that do not exist, lockouts.

- **Blocked flows**: a first pull through each pull through cache rule needs the puller's ecr:CreateRepository
  (pull-through-cache-iam.html); a push under each CREATE_ON_PUSH template needs the pusher's
  ecr:CreateRepository (UNCONFIRMED [U28], docs/fidelity.md); replication from each account the policy lets replicate
  in needs ecr:ReplicateImage and ecr:CreateRepository for that account (replication.html). A flow is blocked
  when a Deny refuses it to a principal that may do it today (its identity policies allow it) or, when IAM is
  unreadable, to a role of the account the policy does not name.
- **Principals that do not exist**: own-account roles and users named as Principal or in an aws:PrincipalArn
  condition, checked against IAM's list (other accounts cannot be read).
- **Lockout**: `access.lockout_problems`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ecrlab.permissions.access import lockout_problems, replication_sources
from ecrlab.permissions.account import AccountSnapshot, Flows, Principal
from ecrlab.permissions.compiled import compile_policy
from ecrlab.permissions.findings import Finding, finding
from ecrlab.permissions.patterns import split_arn
from ecrlab.permissions.policy import RegistryPolicy
from ecrlab.permissions.shadowing import SAMPLE, sample_principals, statement_path
from ecrlab.permissions.simulate import simulate

if TYPE_CHECKING:
    from ecrlab.registry import Registry

_EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}


def _name(prefix: str) -> str:
    return SAMPLE if prefix == "ROOT" else f"{prefix.rstrip('/')}/{SAMPLE}"


def _flows(configured: Flows) -> Iterator[tuple[str, str, str, str, list[str]]]:
    """(flow, rule, intent, repository name, actions) for each flow the registry is configured for."""
    for prefix in configured.cache_prefixes:
        yield (
            f"the first pull through the pull through cache rule '{prefix}'",
            "ECR creates the cache repository only if the puller may ecr:CreateRepository and imports only if it "
            "may ecr:BatchImportUpstreamImage (pull-through-cache-iam.html)",
            f"pull_through_cache_principals (prefix '{prefix}')",
            _name(prefix),
            ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"],
        )
    for prefix in configured.create_on_push_prefixes:
        yield (
            f"create on push under the CREATE_ON_PUSH template '{prefix}'",
            "a push to a missing repository creates it from the template for a pusher that may "
            "ecr:CreateRepository (UNCONFIRMED [U28], docs/fidelity.md)",
            "admin_principals (or push to repositories that exist)",
            _name(prefix),
            ["ecr:CreateRepository"],
        )


def _who(known: list[Principal] | None, account: str) -> list[Principal]:
    if known is None:
        return [Principal(f"arn:aws:iam::{account}:role/{SAMPLE}", "role", {"assumed": _EVERYTHING})]
    return [p for p in known if p.kind in ("role", "user")]


def blocked_flows(snapshot: AccountSnapshot, policy: RegistryPolicy) -> list[Finding]:
    """A finding per configured flow and Deny that refuses it to someone who may do it today."""
    account, region = snapshot.registry.account_id, snapshot.registry.region
    scope, known = snapshot.scope, snapshot.principals
    text = policy.to_json()
    findings = []

    def check(principal: Principal, action: str, name: str, identity: Any) -> tuple[bool, list[Any]]:
        resource = f"arn:aws:ecr:{region}:{account}:repository/{name}"
        today = simulate(principal.arn, action, resource, identity_policies=identity, resource_account=account)
        after = simulate(
            principal.arn,
            action,
            resource,
            identity_policies=identity,
            registry_policy=text,
            scope=scope,
            resource_account=account,
        )
        blocked = today.allowed and after.outcome == "ExplicitlyDenied"
        return blocked, [ref for ref in after.deciding if ref.effect == "Deny"]

    cases = [(*flow, _who(known, account)) for flow in _flows(snapshot.flows)]
    for source in replication_sources(account, policy):
        root = Principal(f"arn:aws:iam::{source}:root", "replication source")
        rule = "ECR replicates as the source account, which needs ecr:ReplicateImage and, for missing repositories, "
        rule += "ecr:CreateRepository in the destination's registry policy (replication.html)"
        flow = f"replication from account {source}"
        cases.append(
            (flow, rule, "replication_sources", SAMPLE, ["ecr:ReplicateImage", "ecr:CreateRepository"], [root])
        )
    for flow, rule, intent, name, actions, who in cases:
        if _granted_and_working(policy, name, actions, account, region, scope):
            continue  # the policy names who does this flow, and they can: others being refused is its intent
        by_deny: dict[tuple[str, int], tuple[list[str], list[str]]] = {}
        for principal in who:
            for action in actions:
                # A replication source is allowed today by the policy's own grant, not by its identity.
                identity = principal.identity
                if principal.kind == "replication source":
                    blocked, denies = _source_blocked(principal, action, name, text, scope, account, region)
                else:
                    blocked, denies = check(principal, action, name, identity)
                for ref in denies if blocked else ():
                    names, acts = by_deny.setdefault((ref.label, ref.index), ([], []))
                    names.append(principal.short)
                    acts.append(action)
        for (label, index), (names, acts) in by_deny.items():
            findings.append(
                finding(
                    "flow-blocked",
                    statement_path(policy.document, index),
                    deny=label,
                    flow=flow,
                    rule=rule,
                    who=", ".join(dict.fromkeys(names)),
                    action=" and ".join(dict.fromkeys(acts)),
                    resource=f"repository/{name}",
                    intent=intent,
                )
            )
    return findings


def _granted_and_working(
    policy: RegistryPolicy, name: str, actions: list[str], account: str, region: str, scope: str
) -> bool:
    """Whether an Allow of the policy grants the flow here and a grantee may do all of it."""
    resource = f"arn:aws:ecr:{region}:{account}:repository/{name}"
    grantees = [
        principal
        for statement in compile_policy(policy).statements
        if statement.allow and any(statement.applies(action, resource, {}) for action in actions)
        for principal in sample_principals(statement.statement, account)
    ]
    return any(
        all(
            simulate(p, a, resource, registry_policy=policy, scope=scope, resource_account=account).allowed
            for a in actions
        )
        for p in dict.fromkeys(grantees)
    )


def _source_blocked(
    source: Principal, action: str, name: str, text: str, scope: str, account: str, region: str
) -> tuple[bool, list[Any]]:
    resource = f"arn:aws:ecr:{region}:{account}:repository/{name}"
    after = simulate(source.arn, action, resource, registry_policy=text, scope=scope, resource_account=account)
    return after.outcome == "ExplicitlyDenied", [ref for ref in after.deciding if ref.effect == "Deny"]


def _named(policy: RegistryPolicy) -> Iterator[tuple[str, str]]:
    """(path, ARN) for each principal ARN the policy names in Principal or an aws:PrincipalArn condition."""
    single = isinstance(policy.document["Statement"], Mapping)
    for statement in policy.statements:
        base = "Statement" if single else f"Statement[{statement.index}]"
        for kind, entries in (statement.principal or {}).items():
            for i, entry in enumerate(entries):
                yield (f"{base}.Principal.{kind}" + (f"[{i}]" if len(entries) > 1 else ""), entry)
        for operator, pairs in statement.condition.items():
            for key, values in pairs.items():
                if key.lower() != "aws:principalarn":
                    continue
                listed = (values,) if isinstance(values, str) else tuple(values)
                for i, value in enumerate(listed):
                    yield (f"{base}.Condition.{operator}.{key}" + (f"[{i}]" if len(listed) > 1 else ""), value)


def missing_principals(policy: RegistryPolicy, account: str, known: list[Principal]) -> list[Finding]:
    """Own-account roles and users the policy names that IAM does not list."""
    roles = {p.arn.split(":", 5)[5].rsplit("/", 1)[-1] for p in known if p.kind == "role"}
    users = {p.arn.split(":", 5)[5].rsplit("/", 1)[-1] for p in known if p.kind == "user"}
    findings = []
    for path, entry in _named(policy):
        parts = split_arn(entry)
        if not parts or parts[4] != account or parts[2] != "iam" or "*" in entry or "?" in entry:
            continue
        kind, _, rest = parts[5].partition("/")
        name = rest.rsplit("/", 1)[-1]
        if (kind == "role" and name not in roles) or (kind == "user" and name not in users):
            findings.append(finding("principal-not-found", path, entry=entry, kind=kind, account=account))
    return findings


def live_findings(registry: Registry, policy: RegistryPolicy, snapshot: AccountSnapshot | None = None) -> list[Finding]:
    """Everything the live registry and account tell about `policy`: blocked flows, unknown principals, lockout.

    `snapshot`: the account as this check already read it; each part reads it once between them.
    """
    snapshot = snapshot or AccountSnapshot(registry)
    findings = blocked_flows(snapshot, policy)
    if snapshot.principals is not None:
        findings += missing_principals(policy, registry.account_id, snapshot.principals)
    return findings + lockout_problems(registry, policy, snapshot=snapshot)
